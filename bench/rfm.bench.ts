/**
 * `npm run bench -- rfm`: a full RFM recomputation over 100,000 customer profiles in a SQLite file
 * read store (the default), against a baseline measured in the same run: reading and parsing every
 * profile page by page (the unavoidable part of any recomputation).
 *
 * Also: a new rule-based segment evaluated over the same 100,000 profiles, and how long a small
 * write transaction (a stand-in for a projector batch commit) waits while that sweep runs, against
 * the same probe with nothing else running.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { evolveProfile, type FoldableEvent, type Profile } from '@cairn/domain';
import { runRfm, sweepSegments } from '@cairn/projections';
import { openReadStore, saveProfiles, type ReadStore } from '@cairn/read-models';
import { ratio, figure, type BenchFigure, type BenchSuite } from './harness';

const CUSTOMERS = Number(process.env.RFM_BENCH_CUSTOMERS ?? 100_000);

function generate(i: number, rnd: (n: number) => number): Profile {
  const id = `c${String(i).padStart(7, '0')}`;
  let p: Profile | undefined;
  const orders = 1 + rnd(6);
  for (let k = 0; k < orders; k++) {
    const total = 500 + rnd(20_000);
    const e: FoldableEvent = {
      id: `${id}-${k}`,
      type: 'cairn.purchase.v1',
      data: {
        customerId: id,
        occurredAt: new Date(Date.UTC(2025, 0, 1) + rnd(700) * 86_400_000).toISOString(),
        channel: 'web',
        orderId: `${id}-o${k}`,
        currency: 'USD',
        items: [{ productId: `p${rnd(100)}`, category: `cat${rnd(10)}`, quantity: 1, unitPriceMinor: total }],
        totalMinor: total,
      } as never,
    };
    p = evolveProfile(p, id, e, { currency: 'USD' });
    if (rnd(10) === 0) {
      p = evolveProfile(p, id, { id: `${id}-r${k}`, type: 'cairn.return.v1', data: { customerId: id, occurredAt: '2026-06-01T00:00:00Z', channel: 'web', orderId: `${id}-o${k}`, items: [], refundMinor: rnd(total), currency: 'USD' } as never }, { currency: 'USD' });
    }
  }
  return p!;
}

async function scanBaseline(store: ReadStore): Promise<number> {
  let after: string | null = null;
  let n = 0;
  for (;;) {
    let q = store.db.selectFrom('profiles').select(['customer_id', 'doc']).orderBy('customer_id').limit(5000);
    if (after !== null) q = q.where('customer_id', '>', after);
    const rows = await q.execute();
    for (const r of rows) if ((JSON.parse(r.doc) as Profile).orders > 0) n += 1;
    if (rows.length < 5000) break;
    after = rows[rows.length - 1]!.customer_id;
  }
  return n;
}

export const run: BenchSuite = async (log) => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-rfm-bench-'));
  const store = await openReadStore(`sqlite:${join(dir, 'rm.sqlite')}`);
  try {
    let x = 42;
    const rnd = (n: number) => ((x = (x * 1103515245 + 12345) % 2147483648), x % n);
    log(`generating ${CUSTOMERS} profiles`);
    for (let i = 0; i < CUSTOMERS; i += 10_000) {
      const part = Array.from({ length: Math.min(10_000, CUSTOMERS - i) }, (_, k) => generate(i + k, rnd));
      await store.transaction((trx) => saveProfiles(trx, part));
    }
    const t0 = performance.now();
    const scanned = await scanBaseline(store);
    const scanMs = performance.now() - t0;
    log(`baseline scan: ${scanned} profiles in ${scanMs.toFixed(0)} ms`);
    const t1 = performance.now();
    const result = await runRfm(store, { asOf: new Date('2026-12-01T00:00:00Z'), windowDays: 365, trigger: 'demand', timezone: 'UTC' });
    const rfmMs = performance.now() - t1;
    log(`RFM run: ${result.customers} customers scored in ${rfmMs.toFixed(0)} ms`);
    const probe = async (until: () => boolean): Promise<number[]> => {
      const waits: number[] = [];
      let i = 0;
      while (!until()) {
        const t = performance.now();
        await store.transaction((trx) =>
          trx.insertInto('identity_state').values({ name: `probe-${i++ % 10}`, value: String(t) }).onConflict((oc) => oc.column('name').doUpdateSet({ value: String(t) })).execute(),
        );
        waits.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 5));
      }
      return waits.sort((a, b) => a - b);
    };
    const idleEnd = performance.now() + 2000;
    const idle = await probe(() => performance.now() > idleEnd);
    await store.transaction((trx) =>
      trx
        .insertInto('segments')
        .values({
          segment_id: 'bench', name: 'lapsed buyers', version: 1, created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z', deleted: 0, needs_sweep: 1,
          condition: JSON.stringify({ all: [{ count: { type: 'purchase', withinDays: 60 }, op: '=', value: 0 }, { field: 'orders', op: '>=', value: 1 }] }),
        })
        .execute(),
    );
    let done = false;
    const t2 = performance.now();
    const [changes, busy] = await Promise.all([
      sweepSegments(store, { asOf: new Date('2026-12-01T00:00:00Z') }).finally(() => (done = true)),
      probe(() => done),
    ]);
    const sweepMs = performance.now() - t2;
    const pct = (xs: number[], q: number) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
    log(`segment sweep: ${changes} members entered in ${sweepMs.toFixed(0)} ms; probe commits p99 ${pct(busy, 0.99).toFixed(1)} ms (idle ${pct(idle, 0.99).toFixed(1)} ms), max ${busy[busy.length - 1]!.toFixed(1)} ms`);
    const figures: BenchFigure[] = [
      figure(`full RFM recomputation, ${CUSTOMERS} profiles (SQLite)`, rfmMs, 'ms'),
      ratio('RFM recomputation ÷ profile scan', rfmMs, 'ms', { name: 'read + parse every profile', value: scanMs }),
      figure('customers scored', result.customers, 'customers'),
      figure(`new segment evaluated over ${CUSTOMERS} profiles`, sweepMs, 'ms'),
      ratio('write commit p99 during the segment sweep', pct(busy, 0.99), 'ms', { name: 'write commit p99, idle', value: pct(idle, 0.99) }),
      figure('write commit max during the segment sweep', busy[busy.length - 1]!, 'ms'),
    ];
    return figures;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
};
