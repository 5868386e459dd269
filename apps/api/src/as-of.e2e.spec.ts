/**
 * As-of, exactly: every read the API serves that takes an as-of instant answers, over a log that
 * goes on past the instant, exactly what it answers over the same log cut at the instant. Two
 * Cairns: one holds every event, the other only those that occurred up to the instant; late returns
 * of earlier orders are among the events after it. The reads (docs/operations.md, "As-of reads",
 * lists them with those that answer for now only):
 * - loyalty: GET /v1/loyalty/:id, /ledger and /explain with `asOf`;
 * - analytics: retention with `asOf` (rows and grid, bounded and unbounded, first and recurring
 *   cohorts, purchase and activity), KPIs up to `to` (day, week and month periods), the CLV fit and
 *   a customer's value calibrated at `calibrationEnd`, in JSON and CSV;
 * - RFM: a run as of an instant (POST /v1/rfm/runs `asOf`), then its distribution (JSON and CSV),
 *   each segment's customers and each customer's history by `runId`: returns recorded after the
 *   instant are ignored.
 */
import { randomUUID } from 'crypto';
import { startCairn, type TestCairn } from '../../../test/support/cairn';

const T = '2026-06-01T00:00:00.000Z';
const LAST_DAY = '2026-05-31'; // the last whole UTC day before T

const PROGRAM = {
  currency: 'USD',
  earn: { pointsPerUnit: 1, unitMinor: 100, rounding: 'floor', review: { points: 50, requirePurchase: true } },
  pendingDays: 14,
  expiry: { mode: 'fixed', days: 365 },
  returns: { negativeBalance: 'allow' },
  tiers: {
    basis: 'points',
    window: { kind: 'rolling', days: 365 },
    downgrade: 'end-of-period',
    levels: [
      { name: 'Bronze', threshold: 0, multiplier: 1 },
      { name: 'Silver', threshold: 300, multiplier: 1.5 },
    ],
  },
};

/** A deterministic history around T: orders, returns (some after T, of orders before it) and reviews. */
function history(): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  let n = 0;
  const id = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
  const at = (day: number) => new Date(Date.parse('2025-09-01T10:00:00Z') + day * 86_400_000).toISOString();
  for (let c = 0; c < 24; c++) {
    const customerId = `asof-${c}`;
    for (let k = 0; k < 1 + (c % 4); k++) {
      const day = (c * 13 + k * 47) % 400; // 2025-09-01 … 2026-10-05: on both sides of T
      const orderId = `asof-${c}-${k}`;
      const total = 1000 + 250 * ((c + k) % 7);
      events.push({ id: id(), type: 'purchase', customerId, occurredAt: at(day), channel: 'web', orderId, currency: 'USD', items: [{ productId: 'p', quantity: 1, unitPriceMinor: total }], totalMinor: total });
      if ((c + k) % 3 === 0) {
        // A return 5 or 60 days later: for orders shortly before T, the return falls after it.
        const later = day + ((c + k) % 2 === 0 ? 60 : 5);
        events.push({ id: id(), type: 'return', customerId, occurredAt: at(later), channel: 'web', orderId, items: [{ productId: 'p', quantity: 1 }], refundMinor: Math.floor(total / 2), currency: 'USD' });
      }
      if (k === 0 && c % 2 === 0) events.push({ id: id(), type: 'review', customerId, occurredAt: at(day + 3), channel: 'web', productId: 'p', orderId, rating: 4 });
    }
  }
  return events.filter((e) => Date.parse(e.occurredAt as string) < Date.now());
}

describe('as-of answers equal the answers over the log cut at the instant', () => {
  let full: TestCairn;
  let cut: TestCairn;
  const events = history();
  const before = events.filter((e) => Date.parse(e.occurredAt as string) <= Date.parse(T));
  const customers = [...new Set(events.map((e) => e.customerId as string))];

  /** The same read on both Cairns as text (CSV), after each has folded all it was sent. */
  const bothText = async (path: string, accept: string) => {
    const [a, b] = await Promise.all(
      [full, cut].map(async (c) => {
        const res = await fetch(`${c.url}${path}${path.includes('?') ? '&' : '?'}minPosition=${positions.get(c)}`, { headers: { authorization: `Bearer ${c.adminKey}`, accept } });
        return { status: res.status, body: await res.text() };
      }),
    );
    return { full: a!, cut: b! };
  };
  const call = async (cairn: TestCairn, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${cairn.url}${path}`, { method, headers: { authorization: `Bearer ${cairn.adminKey}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: res.status, body: await res.json() };
  };
  /** The same read on both Cairns, after each has folded all it was sent. */
  const both = async (path: string) => {
    const [a, b] = await Promise.all([full, cut].map(async (c) => call(c, 'GET', `${path}${path.includes('?') ? '&' : '?'}minPosition=${positions.get(c)}`)));
    return { full: a!, cut: b! };
  };
  const positions = new Map<TestCairn, string>();

  beforeAll(async () => {
    [full, cut] = await Promise.all([startCairn({ env: { CAIRN_TIMEZONE: 'UTC' } }), startCairn({ env: { CAIRN_TIMEZONE: 'UTC' } })]);
    for (const [cairn, sent] of [[full, events], [cut, before]] as const) {
      expect((await call(cairn, 'PUT', '/v1/loyalty/program', { program: PROGRAM, effectiveFrom: '2025-01-01T00:00:00Z' })).status).toBe(200);
      const ingest = await call(cairn, 'POST', '/v1/events', { events: sent });
      expect(ingest.body.results.filter((r: { status: string }) => r.status !== 'accepted')).toEqual([]);
      positions.set(cairn, ingest.body.position.commit);
    }
    expect(events.length).toBeGreaterThan(before.length); // there is something after T to ignore
    const lateReturns = events.filter((e) => e.type === 'return' && Date.parse(e.occurredAt as string) > Date.parse(T));
    const ordersBeforeT = new Set(before.filter((e) => e.type === 'purchase').map((e) => e.orderId));
    expect(lateReturns.some((r) => ordersBeforeT.has(r.orderId))).toBe(true); // returns after T of orders before it
  }, 90_000);
  afterAll(async () => {
    await Promise.all([full?.close(), cut?.close()]);
  });

  it('loyalty: summary, ledger and explanation as of T', async () => {
    const known = new Set(before.map((e) => e.customerId as string));
    for (const c of customers.filter((x) => !known.has(x))) {
      // First seen after T: unknown on the cut log (404); over the full log as of T, an empty ledger.
      const { full: a, cut: b } = await both(`/v1/loyalty/${c}/ledger?asOf=${T}`);
      expect([c, b.status]).toEqual([c, 404]);
      expect([c, a.status, a.body.movements, a.body.balance]).toEqual([c, 200, [], { pending: 0, available: 0 }]);
    }
    for (const c of customers.filter((x) => known.has(x))) {
      for (const path of [`/v1/loyalty/${c}`, `/v1/loyalty/${c}/ledger`, `/v1/loyalty/${c}/explain`]) {
        const { full: a, cut: b } = await both(`${path}?asOf=${T}`);
        expect([path, a.status]).toEqual([path, b.status]);
        expect([path, a.body]).toEqual([path, b.body]);
      }
    }
  });

  it('analytics: retention as of the day, KPIs up to it, CLV calibrated at it', async () => {
    for (const path of [
      `/v1/metrics/retention?period=month&asOf=${LAST_DAY}`,
      `/v1/metrics/retention?period=week&returning=activity&asOf=${LAST_DAY}`,
      `/v1/metrics/retention?period=month&mode=unbounded&cohort=recurring&shape=grid&asOf=${LAST_DAY}`,
      `/v1/metrics/kpis?from=2025-01-01&to=${LAST_DAY}`,
      `/v1/metrics/kpis?from=2026-03-01&to=${LAST_DAY}&period=week`,
      `/v1/metrics/kpis?from=2026-05-01&to=${LAST_DAY}&period=day`,
      `/v1/metrics/clv?calibrationEnd=${LAST_DAY}&unit=week`,
      `/v1/metrics/clv?calibrationEnd=${LAST_DAY}&unit=day&horizon=180&margin=0.3&discountRate=0.05`,
    ]) {
      const { full: a, cut: b } = await both(path);
      expect([path, a.status]).toEqual([path, 200]);
      expect([path, a.body]).toEqual([path, b.body]);
    }
    // A customer's value: the prediction is calibrated at calibrationEnd (as of it); `historic` is
    // net revenue to date, a "now" answer (docs/operations.md, "As-of reads"), so it is left out.
    for (const c of ['asof-5', 'asof-10', 'asof-17']) {
      const path = `/v1/customers/${c}/value?calibrationEnd=${LAST_DAY}&unit=week`;
      const { full: a, cut: b } = await both(path);
      expect([path, a.status, a.body.predicted !== null]).toEqual([path, 200, true]);
      const { historic: _a, ...asOfA } = a.body;
      const { historic: _b, ...asOfB } = b.body;
      expect([path, asOfA]).toEqual([path, asOfB]);
    }
    for (const path of [`/v1/metrics/retention?period=month&asOf=${LAST_DAY}`, `/v1/metrics/kpis?from=2025-01-01&to=${LAST_DAY}`, `/v1/metrics/clv?calibrationEnd=${LAST_DAY}&unit=week`]) {
      const { full: a, cut: b } = await bothText(path, 'text/csv');
      expect([path, a.status, a.body.length > 0]).toEqual([path, 200, true]);
      expect([path, a.body]).toEqual([path, b.body]);
    }
  });

  it('RFM: a run as of T scores exactly as over the cut log (returns after T ignored)', async () => {
    const runs = await Promise.all([full, cut].map((c) => call(c, 'POST', '/v1/rfm/runs', { asOf: T, windowDays: 365 })));
    for (const r of runs) expect(r.status).toBe(201);
    const [da, db] = await Promise.all([call(full, 'GET', `/v1/rfm?runId=${runs[0]!.body.runId}`), call(cut, 'GET', `/v1/rfm?runId=${runs[1]!.body.runId}`)]);
    expect(da.body.grid).toEqual(db.body.grid);
    expect(da.body.segments).toEqual(db.body.segments);
    const csv = await Promise.all([[full, runs[0]!], [cut, runs[1]!]].map(async ([c, r]) => (await fetch(`${(c as TestCairn).url}/v1/rfm?runId=${(r as { body: { runId: string } }).body.runId}`, { headers: { authorization: `Bearer ${(c as TestCairn).adminKey}`, accept: 'text/csv' } })).text()));
    expect(csv[0]).toEqual(csv[1]);
    // Each segment's customers of the run, page by page.
    for (const { segment } of da.body.segments as { segment: string }[]) {
      const page = async (c: TestCairn, runId: string) => {
        const items: unknown[] = [];
        let cursor: string | null = null;
        do {
          const r = await call(c, 'GET', `/v1/rfm/${segment}/customers?runId=${runId}&limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
          expect([segment, r.status]).toEqual([segment, 200]);
          items.push(...r.body.items);
          cursor = r.body.nextCursor;
        } while (cursor !== null);
        return items;
      };
      expect([segment, await page(full, runs[0]!.body.runId)]).toEqual([segment, await page(cut, runs[1]!.body.runId)]);
    }
    // The full log has returns after T of orders the run scores: their refunds are not subtracted.
    // Direct computation: the orders up to T less the refunds of returns up to T.
    const t = Date.parse(T);
    const late = events.find((e) => e.type === 'return' && Date.parse(e.occurredAt as string) > t && before.some((p) => p.type === 'purchase' && p.orderId === e.orderId))!;
    const c = late.customerId as string;
    const orders = before.filter((e) => e.type === 'purchase' && e.customerId === c);
    const refunds = (untilT: boolean) => events.filter((e) => e.type === 'return' && e.customerId === c && orders.some((o) => o.orderId === e.orderId) && (!untilT || Date.parse(e.occurredAt as string) <= t)).reduce((sum, e) => sum + (e.refundMinor as number), 0);
    const gross = orders.reduce((sum, o) => sum + (o.totalMinor as number), 0);
    const scored = ((await call(full, 'GET', `/v1/rfm/history/${c}`)).body.history as { runId: string; netMinor: number }[]).find((h) => h.runId === runs[0]!.body.runId)!;
    expect([c, scored.netMinor]).toEqual([c, gross - refunds(true)]);
    expect(gross - refunds(false)).toBeLessThan(gross - refunds(true)); // what subtracting the later returns would give
    for (const c of customers) {
      const [ha, hb] = await Promise.all([call(full, 'GET', `/v1/rfm/history/${c}`), call(cut, 'GET', `/v1/rfm/history/${c}`)]);
      const strip = (h: { history: Record<string, unknown>[] }) => h.history.map(({ runId: _r, ...rest }) => rest);
      expect([c, strip(ha.body)]).toEqual([c, strip(hb.body)]);
    }
  });
});
