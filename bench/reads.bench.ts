/**
 * `npm run bench -- reads`: the work of one GET /v1/customers/:id in the read store, in this
 * process, without HTTP: identity resolved per request (`resolveCustomer`, 2-5 queries, then the
 * whole profile document parsed and the view derived, as the handler did before migration 520)
 * against the one indexed read of the row the profiles projection wrote ready
 * (`readStoredCustomer` + `servedCustomer`). Same SQLite file, same ids, 50 callers at once,
 * rounds alternated so both see the same machine. The HTTP figures under ingest are in `spine`.
 *
 * The store holds 20,000 customers from an interleaved log of 200,000 events: anonymous visits,
 * identifies linking them (some devices shared by more customers than the limit) and admin merges.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { randomUUID } from 'crypto';
import { IDENTITY_MERGED, lifecycleStage, type EventInput } from '@cairn/domain';
import { profileProjection, resolveCustomer, type LogEvent } from '@cairn/projections';
import { getProfile, openReadStore, publicProfile, readStoredCustomer, servedCustomer, type ReadStore } from '@cairn/read-models';
import { ProjectionHarness } from '../libs/projections/src/engine/harness';
import { record, recordAdmin } from '../libs/projections/src/identity/identity.test-support';
import { figure, ratio, type BenchFigure, type BenchSuite } from './harness';
import { percentile } from './spine.bench';

const CUSTOMERS = 20_000;
const EVENTS = 200_000;
const LIMIT = 3;
const REQUESTS = 20_000;
const CALLERS = 50;
const ROUNDS = 3;
const RULES = { newDays: 30, activeDays: 90, lapsedDays: 180 };

/** mulberry32: uniform over every modulus (a power-of-two LCG's low bits are not). */
function rng(seed: number) {
  let a = seed >>> 0;
  return (k: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % k;
  };
}

function inputs(): EventInput[] {
  const rnd = rng(42);
  return Array.from({ length: EVENTS }, (_, i): EventInput => {
    const customerId = `c${rnd(CUSTOMERS)}`;
    // A device per customer, one in 50 shared by a handful of customers.
    const anonymousId = rnd(50) === 0 ? `shared${rnd(200)}` : `a${customerId}`;
    const occurredAt = new Date(Date.UTC(2026, 0, 1) + rnd(300 * 86_400) * 1000).toISOString();
    switch (rnd(6)) {
      case 0:
        return { id: randomUUID(), type: 'view', anonymousId, occurredAt, channel: 'web', productId: `p${rnd(100)}`, category: 'music' };
      case 1:
        return { id: randomUUID(), type: 'identify', customerId, anonymousId, occurredAt, channel: 'web' };
      case 2: {
        const unit = 100 + rnd(10_000);
        return { id: randomUUID(), type: 'purchase', customerId, occurredAt, channel: 'web', orderId: `o-${i}`, currency: 'USD', items: [{ productId: `p${rnd(100)}`, category: 'music', quantity: 1, unitPriceMinor: unit }], totalMinor: unit };
      }
      default:
        return { id: randomUUID(), type: 'view', customerId, occurredAt, channel: 'app', productId: `p${rnd(100)}`, category: 'music' };
    }
  });
}

async function pool(ids: readonly string[], work: (id: string) => Promise<void>): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        const s = process.hrtime.bigint();
        await work(id);
        latencies.push(Number(process.hrtime.bigint() - s) / 1e6);
      }
    }),
  );
  return latencies.sort((a, b) => a - b);
}

async function perRequest(store: ReadStore, id: string, asOf: Date): Promise<unknown> {
  const identity = await resolveCustomer(store.db, id, LIMIT);
  const profile = await getProfile(store.db, identity?.customerId ?? id);
  return profile === null ? null : { ...publicProfile(profile), lifecycleStage: lifecycleStage(profile, asOf, RULES), identity };
}

async function stored(store: ReadStore, id: string, asOf: Date): Promise<unknown> {
  const row = await readStoredCustomer(store.db, id);
  // As the handler: no stored row (an unknown id) falls back to resolving per request.
  return row === undefined ? perRequest(store, id, asOf) : servedCustomer(row, id, asOf, RULES);
}

export const run: BenchSuite = async (log) => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-reads-'));
  const store = await openReadStore(`sqlite:${join(dir, 'read.sqlite')}`);
  try {
    const events: LogEvent[] = inputs().map((e) => record(e));
    const harness = new ProjectionHarness(store, profileProjection({ currency: 'USD', sharedDeviceLimit: LIMIT }));
    for (let i = 0; i < events.length; i += 5000) await harness.apply(events.slice(i, i + 5000));
    const merges = Array.from({ length: 500 }, (_, i) =>
      recordAdmin({ type: IDENTITY_MERGED, data: { mergeId: randomUUID(), survivorId: `c${i * 2}`, mergedId: `c${i * 2 + 1}`, requestedAt: '2026-11-01T00:00:00Z' } }),
    );
    await harness.apply(merges);
    const known = Number((await store.db.selectFrom('customer_lookup').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    log(`folded ${events.length} events and ${merges.length} merges: ${known} customer ids with a stored row`);

    const asOf = new Date('2026-11-15T00:00:00Z');
    const ids = Array.from({ length: REQUESTS }, (_, i) => `c${(i * 7919) % CUSTOMERS}`);
    // Both paths answer the same bodies (the property spec checks this exhaustively on small logs).
    for (const id of ids.slice(0, 500)) {
      const a = JSON.stringify(await perRequest(store, id, asOf));
      const b = JSON.stringify(await stored(store, id, asOf));
      if (a !== b) throw new Error(`the two read paths differ for ${id}:\n${a}\n${b}`);
    }
    const old: number[] = [];
    const now: number[] = [];
    let oldSeconds = 0;
    let newSeconds = 0;
    for (let r = 0; r < ROUNDS; r++) {
      let t0 = process.hrtime.bigint();
      old.push(...(await pool(ids, async (id) => void (await perRequest(store, id, asOf)))));
      oldSeconds += Number(process.hrtime.bigint() - t0) / 1e9;
      t0 = process.hrtime.bigint();
      now.push(...(await pool(ids, async (id) => void (await stored(store, id, asOf)))));
      newSeconds += Number(process.hrtime.bigint() - t0) / 1e9;
    }
    old.sort((a, b) => a - b);
    now.sort((a, b) => a - b);
    const total = ROUNDS * REQUESTS;
    const figures: BenchFigure[] = [
      ratio(`customer reads, ${CALLERS} callers, one stored row`, total / newSeconds, 'reads/s', { name: 'identity resolved per request', value: total / oldSeconds }, { atLeast: 2 }),
      figure('one stored row: p50 per read', percentile(now, 50), 'ms'),
      figure('one stored row: p99 per read', percentile(now, 99), 'ms'),
      figure('per request: p50 per read', percentile(old, 50), 'ms'),
      figure('per request: p99 per read', percentile(old, 99), 'ms'),
    ];
    return figures;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
};
