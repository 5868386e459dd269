/**
 * `npm run bench -- loyalty`: the loyalty engine.
 *
 *  - ledger projection: N events for C customers (purchases, returns, reviews, referrals, views)
 *    appended to the embedded node, then folded by the loyalty projection alone on a fresh SQLite
 *    read store; reported as a ratio to the raw `readAll` rate of the same events in the same run.
 *  - ledger on read: load a customer's facts + compute the ledger as of now, per second, as a ratio
 *    to the fact load alone (the cost of the pure computation).
 *  - redemptions: 50 concurrent HTTP clients (each on its own customer, then all on one customer),
 *    p99 latency as a ratio to the p99 of GET /v1/loyalty/:id under the same 50 clients.
 *
 * Size: LOYALTY_BENCH_EVENTS (default 1,000,000) and LOYALTY_BENCH_CUSTOMERS (default 100,000);
 * LOYALTY_BENCH_PARTS=projection or =redemptions runs one half.
 */
import { randomBytes, randomUUID } from 'crypto';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { jsonEvent } from '@eventstore/db-client';
import { loadConfig } from '@cairn/config';
import { computeLedger, streamFor, toStoredEvent, type EventInput, type ProgramVersion, validateProgram } from '@cairn/domain';
import type { EventToAppend } from '@cairn/event-store';
import { ProjectionEngine, loadLedgerFacts, loyaltyProjection } from '@cairn/projections';
import { openReadStore } from '@cairn/read-models';
import { composeCairn } from '../apps/cli/src/compose';
import { figure, ratio, type BenchFigure, type BenchSuite } from './harness';

const EVENTS = Number(process.env.LOYALTY_BENCH_EVENTS ?? 1_000_000);
const CUSTOMERS = Number(process.env.LOYALTY_BENCH_CUSTOMERS ?? 100_000);
const PARTS = (process.env.LOYALTY_BENCH_PARTS ?? 'projection,redemptions').split(',');
const DAY = 86_400_000;

const PROGRAM = {
  currency: 'EUR',
  earn: { pointsPerUnit: 1, unitMinor: 100, categoryMultipliers: { shoes: 2 }, review: { points: 50, requirePurchase: true }, referral: { referrerPoints: 500, friendPoints: 200, maxPerWeek: 3 } },
  pendingDays: 30,
  expiry: { mode: 'fixed', days: 365 },
  tiers: { basis: 'points', window: { kind: 'rolling', days: 365 }, downgrade: 'end-of-period', levels: [{ name: 'Bronze', threshold: 0 }, { name: 'Silver', threshold: 1000, multiplier: 1.5 }, { name: 'Gold', threshold: 5000, multiplier: 2 }] },
};

/** The i-th event of customer k: a realistic mix, business time spread over two years. */
function eventFor(k: number, i: number, perCustomer: number, now: number): EventInput {
  const customerId = `c${k}`;
  const occurredAt = new Date(now - 730 * DAY + Math.floor(((k * 7919 + i * 104729) % 700) * DAY) + i * 3_600_000).toISOString();
  const common = { id: randomUUID(), customerId, occurredAt, channel: 'web' as const };
  const slot = i % 10;
  if (slot === 9 || i === perCustomer - 1) return { ...common, type: 'referral', referralCode: `R-${k}`, refereeId: `c${(k + 1) % CUSTOMERS}` };
  if (slot === 8) return { ...common, type: 'return', orderId: `o-${k}-0`, items: [{ productId: 'p1', quantity: 1 }], refundMinor: 1500, currency: 'EUR' };
  if (slot === 6 || slot === 7) return { ...common, type: 'review', productId: `p${slot - 6}`, rating: 5 };
  if (slot === 5) return { ...common, type: 'view', productId: 'p1' };
  const price = 1000 + ((k + i) % 50) * 250;
  return {
    ...common,
    type: 'purchase',
    orderId: `o-${k}-${i}`,
    currency: 'EUR',
    items: [{ productId: `p${i % 3}`, category: i % 2 === 0 ? 'shoes' : 'shirts', quantity: 2, unitPriceMinor: price }],
    totalMinor: 2 * price,
    ...(i === 0 && k % 10 === 1 ? { referralCode: `R-${k - 1}` } : {}),
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function clients(n: number, perClient: number, op: (client: number, i: number) => Promise<number>): Promise<{ latencies: number[]; statuses: Map<number, number> }> {
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  await Promise.all(
    Array.from({ length: n }, async (_, c) => {
      for (let i = 0; i < perClient; i++) {
        const t0 = performance.now();
        const status = await op(c, i);
        latencies.push(performance.now() - t0);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }),
  );
  return { latencies: latencies.sort((a, b) => a - b), statuses };
}

export const run: BenchSuite = async (log) => {
  const figures: BenchFigure[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'cairn-loyalty-bench-'));
  const adminKey = `bench_${randomBytes(16).toString('hex')}`;
  if (PARTS.includes('projection')) await projectionPart(figures, dir, adminKey, log);
  if (PARTS.includes('redemptions')) await redemptionPart(figures, dir, adminKey);
  rmSync(dir, { recursive: true, force: true });
  return figures;
};

async function projectionPart(figures: BenchFigure[], dir: string, adminKey: string, log: (line: string) => void): Promise<void> {
  const config = loadConfig({ CAIRN_LOG_LEVEL: 'warn' }, { port: 0, esdbPort: 0, dataDir: join(dir, 'a'), adminKey });
  config.host = '127.0.0.1';
  const cairn = await composeCairn(config, { api: false, projector: false });
  try {
    // --- append N events
    const perCustomer = Math.max(1, Math.round(EVENTS / CUSTOMERS));
    const now = Date.now();
    log(`appending ${(perCustomer * CUSTOMERS).toLocaleString('en-US')} events for ${CUSTOMERS.toLocaleString('en-US')} customers`);
    let last = 0n;
    let appended = 0;
    const t0 = Date.now();
    const BATCH_CUSTOMERS = 100;
    for (let k0 = 0; k0 < CUSTOMERS; k0 += BATCH_CUSTOMERS) {
      const batch: EventToAppend[] = [];
      for (let k = k0; k < Math.min(CUSTOMERS, k0 + BATCH_CUSTOMERS); k++) {
        for (let i = 0; i < perCustomer; i++) {
          const input = eventFor(k, i, perCustomer, now);
          batch.push({ id: input.id!, streamId: streamFor(input), event: toStoredEvent(input), metadata: { receivedAt: new Date(now).toISOString(), correlationId: 'bench' } });
        }
      }
      const pos = await cairn.runtime.events.append(batch);
      if (pos && pos.commit > last) last = pos.commit;
      appended += batch.length;
      if (k0 % (BATCH_CUSTOMERS * 200) === 0) log(`  ${appended.toLocaleString('en-US')} appended`);
    }
    log(`appended ${appended.toLocaleString('en-US')} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    // --- baseline: raw readAll of the same events (server-side filtered to Cairn's types)
    let t = performance.now();
    const [counted] = await cairn.runtime.events.lagAfter([null], appended);
    const readAllRate = counted.count / ((performance.now() - t) / 1000);
    log(`readAll: ${Math.round(readAllRate).toLocaleString('en-US')} events/s`);

    // --- the loyalty projection alone, on a fresh read store
    const store = await openReadStore(`sqlite:${join(dir, 'loyalty.sqlite')}`);
    const projector = new ProjectionEngine(cairn.runtime.events, store, [loyaltyProjection()], { batchSize: config.projectorBatchSize, batchMs: config.projectorBatchMs });
    t = performance.now();
    await projector.start();
    const done = await projector.waitFor(last, 3_600_000);
    const projSecs = (performance.now() - t) / 1000;
    await projector.stop();
    if (!done) throw new Error('the loyalty projection did not catch up');
    const projRate = appended / projSecs;
    figures.push(figure('events projected', appended, 'events'));
    figures.push(ratio('loyalty projection throughput', projRate, 'events/s', { name: 'raw readAll', value: readAllRate }));

    // --- ledger on read: facts load + pure computation, for a sample of customers
    const v = validateProgram(PROGRAM);
    if (!v.ok) throw new Error('bench program invalid');
    const programs: ProgramVersion[] = [{ version: 1, effectiveFrom: new Date(now - 800 * DAY).toISOString(), recordedAt: new Date(now - 800 * DAY).toISOString(), eventId: 'p', program: v.program }];
    const sample = Array.from({ length: Math.min(2000, CUSTOMERS) }, (_, i) => `c${(i * 7919) % CUSTOMERS}`);
    t = performance.now();
    for (const c of sample) await loadLedgerFacts(store.db, c);
    const loadRate = sample.length / ((performance.now() - t) / 1000);
    t = performance.now();
    const asOf = new Date(now).toISOString();
    for (const c of sample) computeLedger(c, await loadLedgerFacts(store.db, c), programs, asOf);
    const ledgerRate = sample.length / ((performance.now() - t) / 1000);
    figures.push(ratio('ledger on read (load + compute)', ledgerRate, 'customers/s', { name: 'facts load only', value: loadRate }));
    await store.close();
  } finally {
    await cairn.close();
  }
}

async function redemptionPart(figures: BenchFigure[], dir: string, adminKey: string): Promise<void> {
  // --- redemptions over HTTP, 50 concurrent clients
  const api = await composeCairn(loadConfig({ CAIRN_LOG_LEVEL: 'warn' }, { port: 0, esdbPort: 0, dataDir: join(dir, 'b'), adminKey }), { api: true, projector: true });
  try {
    const url = api.url!;
    const headers = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
    const put = await fetch(`${url}/v1/loyalty/program`, { method: 'PUT', headers, body: JSON.stringify({ program: PROGRAM, effectiveFrom: new Date(Date.now() - 400 * DAY).toISOString() }) });
    if (put.status !== 200) throw new Error(`PUT program: ${put.status}`);
    const N = 50;
    const occurredAt = new Date(Date.now() - 60 * DAY).toISOString();
    const events = Array.from({ length: N + 1 }, (_, c) => ({
      type: 'purchase', customerId: `r${c}`, occurredAt, channel: 'web', orderId: `o-${c}`, currency: 'EUR', items: [{ productId: 'p1', quantity: 1, unitPriceMinor: 1_000_000 }], totalMinor: 1_000_000,
    }));
    const ingest = await fetch(`${url}/v1/events`, { method: 'POST', headers, body: JSON.stringify({ events }) });
    const position = ((await ingest.json()) as { position: { commit: string } }).position.commit;
    await fetch(`${url}/v1/loyalty/r0?minPosition=${position}`, { headers });

    // Warm-up of both read paths (JIT, connections, caches) before anything is measured.
    for (const path of ['loyalty', 'customers']) await clients(N, 10, async (c) => (await fetch(`${url}/v1/${path}/r${c}`, { headers }).then(async (r) => (await r.arrayBuffer(), r.status))));
    const profiles = await clients(N, 20, async (c) => (await fetch(`${url}/v1/customers/r${c}`, { headers }).then(async (r) => (await r.arrayBuffer(), r.status))));
    const reads = await clients(N, 20, async (c) => (await fetch(`${url}/v1/loyalty/r${c}`, { headers }).then(async (r) => (await r.arrayBuffer(), r.status))));
    const own = await clients(N, 20, async (c) =>
      fetch(`${url}/v1/loyalty/r${c}/redemptions`, { method: 'POST', headers, body: JSON.stringify({ points: 10 }) }).then(async (r) => (await r.arrayBuffer(), r.status)),
    );
    const hot = await clients(N, 4, async () =>
      fetch(`${url}/v1/loyalty/r${N}/redemptions`, { method: 'POST', headers, body: JSON.stringify({ points: 60 }) }).then(async (r) => (await r.arrayBuffer(), r.status)),
    );
    const baseP99 = { name: 'GET /v1/customers/:id p99', value: percentile(profiles.latencies, 99) };
    // The floor under a redemption: a bare durable append to the event store, same 50 clients.
    const appends = await clients(N, 20, async (c, i) => (await api.runtime.events.client.appendToStream(`bench-append-${c}`, jsonEvent({ type: 'bench', data: { i } })), 200));
    const appendP99 = { name: 'bare append p99', value: percentile(appends.latencies, 99) };
    process.stdout.write(`[loyalty] GET statuses ${JSON.stringify([...reads.statuses])}; own-customer redemptions ${JSON.stringify([...own.statuses])}; hot-customer ${JSON.stringify([...hot.statuses])}\n`);
    const hotLeft = (await (await fetch(`${url}/v1/loyalty/r${N}`, { headers })).json()) as { balance: { available: number } };
    figures.push(ratio('GET /v1/loyalty/:id p99 (50 clients)', percentile(reads.latencies, 99), 'ms', baseP99));
    figures.push(ratio('redemption p99, 50 clients, own customers', percentile(own.latencies, 99), 'ms', baseP99));
    figures.push(ratio('redemption p99, 50 clients, own customers (vs append)', percentile(own.latencies, 99), 'ms', appendP99));
    figures.push(figure('redemption p50, 50 clients, own customers', percentile(own.latencies, 50), 'ms'));
    figures.push(ratio('redemption p99, 50 clients, ONE customer (contention)', percentile(hot.latencies, 99), 'ms', baseP99));
    figures.push(figure('hot customer: redemptions accepted (10,000 points / 60 each)', hot.statuses.get(201) ?? 0, 'redemptions', { atMost: 166 }));
    figures.push(figure('hot customer: balance left (never negative)', hotLeft.balance.available, 'points', { atLeast: 0 }));
  } finally {
    await api.close();
  }
}
