/**
 * `npm run bench -- analytics`: every analytics answer over 1M purchases (100k customers, two years,
 * plus 50k returns and 200k views) in the SQLite read model, measured through the same
 * AnalyticsReader the API uses (HTTP excluded). Baseline: a plain read of the purchase rows'
 * columns (the unavoidable scan). Goal: each metric < 1 s.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { isoToDay, LocalCalendar } from '@cairn/domain';
import { openReadStore, type AnalyticsFactsTable } from '@cairn/read-models';
import { AnalyticsReader } from '../apps/api/src/analytics/analytics.reader';
import type { CairnRuntime } from '../apps/api/src/runtime';
import { figure, ratio, type BenchFigure, type BenchSuite } from './harness';

const CUSTOMERS = 100_000;
const PURCHASES = 1_000_000;
const DAY = 86_400_000;
const START = Date.parse('2024-01-01T00:00:00Z');

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function time<T>(fn: () => Promise<T>, runs = 3): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    await fn();
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)];
}

export const run: BenchSuite = async (log) => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-analytics-bench-'));
  const store = await openReadStore(join(dir, 'read.db'));
  try {
    const u = rng(7);
    const rows: AnalyticsFactsTable[] = [];
    let seq = 0;
    const base = { anonymous_id: null, rating: null, code: null, referee_id: null };
    const first = new Float64Array(CUSTOMERS).map(() => START + Math.floor(u() * 365) * DAY + 36_000_000);
    for (let i = 0; i < PURCHASES; i++) {
      const c = i % CUSTOMERS;
      const at = i < CUSTOMERS ? first[c] : first[c] + Math.floor(u() * 365) * DAY + Math.floor(u() * 36_000_000);
      rows.push({ ...base, seq: seq++, event_id: `p${i}`, kind: 'purchase', customer_id: `c${c}`, occurred_at: new Date(at).toISOString(), occurred_ms: at, order_id: `o${i}`, amount_minor: 500 + Math.floor(u() * 10_000), currency: 'USD' });
      if (i % 20 === 0) rows.push({ ...base, seq: seq++, event_id: `r${i}`, kind: 'return', customer_id: `c${c}`, occurred_at: new Date(at + DAY).toISOString(), occurred_ms: at + DAY, order_id: `o${i}`, amount_minor: 500, currency: 'USD' });
      if (i % 5 === 0) rows.push({ ...base, seq: seq++, event_id: `v${i}`, kind: 'view', customer_id: `c${c}`, occurred_at: new Date(at - 3_600_000).toISOString(), occurred_ms: at - 3_600_000, order_id: null, amount_minor: null, currency: null });
    }
    log(`inserting ${rows.length.toLocaleString('en-US')} fact rows`);
    await store.transaction(async (trx) => {
      for (let i = 0; i < rows.length; i += 2000) await trx.insertInto('analytics_facts').values(rows.slice(i, i + 2000)).execute();
    });
    rows.length = 0;

    const runtime = { readStore: store, config: { currency: 'USD', timezone: 'Europe/Berlin' } } as unknown as CairnRuntime;
    const reader = new AnalyticsReader(runtime);
    const calendar = new LocalCalendar('Europe/Berlin');
    const asOfDay = isoToDay('2025-12-31')!;

    const cold = await time(() => reader.retention({ period: 'month', returning: 'purchase', mode: 'bounded', cohort: 'first', calendar, asOfDay }), 1);
    const scan = await time(() => store.db.selectFrom('analytics_facts').select(['customer_id', 'occurred_ms', 'amount_minor', 'order_id', 'currency']).where('kind', '=', 'purchase').execute());
    const baseline = { name: 'read 1M purchase rows', value: scan };
    log(`baseline scan ${scan.toFixed(0)} ms`);
    const figures: BenchFigure[] = [figure('baseline: read 1M purchase rows', scan, 'ms'), ratio('first query of a process (loads all facts into memory)', cold, 'ms', baseline)];
    const measure = async (name: string, fn: () => Promise<unknown>, runs = 3) => {
      const ms = await time(fn, runs);
      log(`${name}: ${ms.toFixed(0)} ms`);
      figures.push(ratio(name, ms, 'ms', baseline));
      figures.push(figure(`${name} (goal < 1 s)`, ms, 'ms', { atMost: 1000 }));
    };
    await measure('retention month/purchase', () => reader.retention({ period: 'month', returning: 'purchase', mode: 'bounded', cohort: 'first', calendar, asOfDay }));
    await measure('retention week/activity unbounded', () => reader.retention({ period: 'week', returning: 'activity', mode: 'unbounded', cohort: 'first', calendar, asOfDay }));
    await measure('kpis one year', () => reader.kpis(calendar, isoToDay('2025-01-01')!, asOfDay, 'month'));
    const clv = { calendar, calibrationEndDay: isoToDay('2025-06-30')!, unit: 'week' as const, horizon: 52, margin: 0.3, annualDiscountRate: 0.1 };
    await measure('clv fit (first call, uncached)', () => reader.clv(clv), 1);
    await measure('clv: all customer values (fit cached, first call)', async () => reader.values(await reader.clv(clv), clv), 1);
    await measure('clv (fit and values cached)', async () => reader.values(await reader.clv(clv), clv), 3);
    await measure('customer value (cached fit)', () => reader.customer('c42', clv, Date.parse('2026-01-01T00:00:00Z')));
    return figures;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
};
