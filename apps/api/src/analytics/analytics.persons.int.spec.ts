/**
 * Analytics count persons (docs/metrics.md, "Persons, not ids"), property-tested on SQLite and
 * PostgreSQL through the AnalyticsReader the API uses, over the real profile and analytics
 * projections: for random facts and a random admin merge,
 * - every answer (retention in each variant, KPIs, the CLV fit and every customer's value) after
 *   the merge and its unmerge equals the answer before, byte for byte of its JSON;
 * - every answer after the merge equals the answer over the same facts sent with the merged id
 *   rewritten to the survivor (a second store, no merge at all).
 * The same reader instance answers all the way through: nothing is rebuilt, the merge and the
 * unmerge show in the next answer.
 */
import { randomUUID } from 'crypto';
import fc from 'fast-check';
import { IDENTITY_MERGED, IDENTITY_UNMERGED, isoToDay, LocalCalendar, type EventInput } from '@cairn/domain';
import { analyticsProjection, profileProjection, ProjectionHarness, type LogEvent } from '@cairn/projections';
import type { ReadStore } from '@cairn/read-models';
import { record, recordAdmin } from '../../../../libs/projections/src/identity/identity.test-support';
import { dropAndClose, readStoreDialects } from '../../../../test/support/read-stores';
import type { CairnRuntime } from '../runtime';
import { AnalyticsReader, customerValueView, type ClvParams } from './analytics.reader';

const CUSTOMERS = ['c1', 'c2', 'c3', 'c4'];
const VISITORS = ['a1', 'a2', 'a3'];
const ORDERS = ['o1', 'o2', 'o3', 'o4', 'o5'];
const START = Date.parse('2026-01-01T10:00:00Z');
const DAY = 86_400_000;

/** One generated event: an input plus its fixed event id (the same in both stores). */
type Gen = { id: string; input: EventInput };

const at = fc.integer({ min: 0, max: 360 * 24 }).map((h) => new Date(START + h * 3_600_000).toISOString());
const customer = fc.constantFrom(...CUSTOMERS);
const visitor = fc.constantFrom(...VISITORS);
const order = fc.constantFrom(...ORDERS);
const input: fc.Arbitrary<EventInput> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ customerId: customer, orderId: order, occurredAt: at, total: fc.integer({ min: 0, max: 9000 }), code: fc.option(fc.constantFrom('R1', 'R2'), { nil: undefined }) }).map(
    ({ customerId, orderId, occurredAt, total, code }) =>
      ({ type: 'purchase', customerId, occurredAt, channel: 'web', orderId, currency: 'USD', items: [{ productId: 'p', quantity: 1, unitPriceMinor: total }], totalMinor: total, ...(code ? { referralCode: code } : {}) }) as EventInput,
  ) },
  { weight: 2, arbitrary: fc.record({ customerId: customer, orderId: order, occurredAt: at, refund: fc.integer({ min: 0, max: 5000 }) }).map(
    ({ customerId, orderId, occurredAt, refund }) => ({ type: 'return', customerId, occurredAt, channel: 'web', orderId, items: [{ productId: 'p', quantity: 1 }], refundMinor: refund, currency: 'USD' }) as EventInput,
  ) },
  { weight: 3, arbitrary: fc.record({ who: fc.oneof(customer.map((c) => ({ customerId: c })), visitor.map((a) => ({ anonymousId: a }))), occurredAt: at }).map(
    ({ who, occurredAt }) => ({ type: 'view', ...who, occurredAt, channel: 'web', productId: 'p' }) as EventInput,
  ) },
  { weight: 2, arbitrary: fc.record({ customerId: customer, anonymousId: visitor, occurredAt: at }).map(({ customerId, anonymousId, occurredAt }) => ({ type: 'identify', customerId, anonymousId, occurredAt, channel: 'web' }) as EventInput) },
  { weight: 1, arbitrary: fc.record({ customerId: customer, occurredAt: at, rating: fc.integer({ min: 1, max: 5 }) }).map(({ customerId, occurredAt, rating }) => ({ type: 'review', customerId, occurredAt, channel: 'web', productId: 'p', rating }) as EventInput) },
  { weight: 2, arbitrary: fc.record({ customerId: customer, occurredAt: at, code: fc.constantFrom('R1', 'R2'), refereeId: fc.option(customer, { nil: undefined }) }).map(
    ({ customerId, occurredAt, code, refereeId }) => ({ type: 'referral', customerId, occurredAt, channel: 'email', referralCode: code, ...(refereeId ? { refereeId } : {}) }) as EventInput,
  ) },
);
const events: fc.Arbitrary<Gen[]> = fc.array(input, { minLength: 2, maxLength: 24 }).map((inputs) => inputs.map((i) => ({ id: randomUUID(), input: i })));

/** Every id field naming `from` named `to` instead (what a merge means for the facts). */
function rewrite(gen: readonly Gen[], from: string, to: string): Gen[] {
  return gen.map(({ id, input: e }) => {
    const x = { ...e } as Record<string, unknown>;
    if (x.customerId === from) x.customerId = to;
    if (x.refereeId === from) x.refereeId = to;
    return { id, input: x as unknown as EventInput };
  });
}

const calendar = new LocalCalendar('Europe/Berlin');
const asOfDay = isoToDay('2026-12-31')!;
const clvParams: ClvParams = { calendar, calibrationEndDay: isoToDay('2026-08-31')!, unit: 'week', horizon: 26, margin: 0.5, annualDiscountRate: 0.1 };

const NOW = Date.parse('2027-01-01T00:00:00Z');
const valueOf = (reader: AnalyticsReader, id: string) =>
  reader.customer(id, clvParams, NOW).then(
    (v) => JSON.stringify(v),
    (err: Error & { code?: string }) => `error: ${err.code ?? err.message}`, // the message names the id asked for
  );

/** Every analytics answer of the reader (and the value of each of `customers`), each as its JSON text. */
async function answers(reader: AnalyticsReader, customers: readonly string[]): Promise<Record<string, string>> {
  const out: Record<string, unknown> = {};
  for (const period of ['week', 'month'] as const)
    for (const returning of ['purchase', 'activity'] as const)
      for (const mode of ['bounded', 'unbounded'] as const)
        for (const cohort of ['first', 'recurring'] as const) out[`retention ${period} ${returning} ${mode} ${cohort}`] = await reader.retention({ period, returning, mode, cohort, calendar, asOfDay });
  out.kpisYear = await reader.kpis(calendar, isoToDay('2026-01-01')!, asOfDay, 'month');
  out.kpisSpring = await reader.kpis(calendar, isoToDay('2026-03-01')!, isoToDay('2026-05-31')!, 'week');
  try {
    const report = await reader.clv(clvParams);
    out.clv = { model: report.model, values: reader.values(report, clvParams).map(customerValueView) };
  } catch (err) {
    out.clv = { error: (err as Error).message };
  }
  const texts = Object.fromEntries(Object.entries(out).map(([k, v]) => [k, JSON.stringify(v)]));
  for (const c of customers) texts[`value of ${c}`] = await valueOf(reader, c);
  return texts;
}

class Cairnish {
  readonly profiles: ProjectionHarness;
  readonly analytics: ProjectionHarness;
  readonly reader: AnalyticsReader;
  constructor(readonly store: ReadStore) {
    // A limit no generated visitor reaches: a shared device would (rightly) resolve differently once two of its customers are one id.
    this.profiles = new ProjectionHarness(store, profileProjection({ currency: 'USD', sharedDeviceLimit: 10 }));
    this.analytics = new ProjectionHarness(store, analyticsProjection());
    this.reader = new AnalyticsReader({ readStore: store, config: { currency: 'USD', timezone: 'Europe/Berlin' } } as unknown as CairnRuntime);
  }
  async apply(e: LogEvent[]): Promise<void> {
    await this.profiles.apply(e);
    await this.analytics.apply(e);
  }
}

const DIALECTS = readStoreDialects('t_anpersons');
const RUNS: Record<string, number> = { SQLite: 100, PostgreSQL: 15 };

describe.each(DIALECTS)('analytics count persons: merge and unmerge (%s)', (name, open) => {
  it("a linked visitor's anonymous activity is its person's; a referral between two merged ids is a self-referral, withheld until the unmerge", async () => {
    const a = new Cairnish(await open());
    try {
      const buy = (customerId: string, orderId: string, occurredAt: string, extra: Record<string, unknown> = {}): EventInput =>
        ({ type: 'purchase', customerId, occurredAt, channel: 'web', orderId, currency: 'USD', items: [{ productId: 'p', quantity: 1, unitPriceMinor: 2000 }], totalMinor: 2000, ...extra }) as EventInput;
      await a.apply(
        [
          buy('c1', 'o1', '2026-01-10T10:00:00Z'),
          { type: 'identify', customerId: 'c1', anonymousId: 'a1', occurredAt: '2026-01-10T09:00:00Z', channel: 'web' } as EventInput,
          { type: 'view', anonymousId: 'a1', occurredAt: '2026-03-05T10:00:00Z', channel: 'web', productId: 'p' } as EventInput,
          { type: 'referral', customerId: 'c1', referralCode: 'R1', refereeId: 'c2', occurredAt: '2026-01-20T10:00:00Z', channel: 'email' } as EventInput,
          buy('c2', 'o2', '2026-02-10T10:00:00Z', { referralCode: 'R1' }),
        ].map((e) => record(e)),
      );
      const activity = () => a.reader.retention({ period: 'month', returning: 'activity', mode: 'bounded', cohort: 'first', calendar, asOfDay: isoToDay('2026-03-31')! });
      const kpis = () => a.reader.kpis(calendar, isoToDay('2026-01-01')!, isoToDay('2026-03-31')!, 'month');
      // a1's March view (sent without a customer id) is c1's activity in March.
      expect((await activity()).map((r) => [r.cohort, r.size, r.cells.map((c) => c.count)])).toEqual([
        ['2026-01', 1, [1, 0, 1]],
        ['2026-02', 1, [1, 0]],
      ]);
      expect((await kpis()).referral).toMatchObject({ invites: 1, conversions: 1 });
      const mergeId = randomUUID();
      await a.apply([recordAdmin({ type: IDENTITY_MERGED, data: { mergeId, survivorId: 'c1', mergedId: 'c2', requestedAt: '2027-01-01T00:00:00Z' } })]);
      // One person: bought in January and February, seen in March; c1 referring c2 is now referring themself.
      expect((await activity()).map((r) => [r.cohort, r.size, r.cells.map((c) => c.count)])).toEqual([['2026-01', 1, [1, 1, 1]]]);
      expect(await kpis()).toMatchObject({ customers: 1, newCustomers: 1, repeatPurchaseRate: 1, referral: { invites: 1, conversions: 0 }, historicClv: { customers: 1, netMinor: 4000 } });
      await a.apply([recordAdmin({ type: IDENTITY_UNMERGED, data: { mergeId, requestedAt: '2027-01-02T00:00:00Z' } })]);
      expect((await activity()).map((r) => r.size)).toEqual([1, 1]);
      expect((await kpis()).referral).toMatchObject({ invites: 1, conversions: 1 });
    } finally {
      await dropAndClose(a.store);
    }
  });

  it('a referral naming an id merged into another converts through its person', async () => {
    const a = new Cairnish(await open());
    try {
      const buy = (customerId: string, orderId: string, occurredAt: string): EventInput =>
        ({ type: 'purchase', customerId, occurredAt, channel: 'web', orderId, currency: 'USD', items: [{ productId: 'p', quantity: 1, unitPriceMinor: 2000 }], totalMinor: 2000 }) as EventInput;
      await a.apply(
        [
          { type: 'referral', customerId: 'c3', referralCode: 'R3', refereeId: 'c2', occurredAt: '2026-01-05T10:00:00Z', channel: 'email' } as EventInput,
          buy('c1', 'o1', '2026-01-10T10:00:00Z'),
          buy('c2', 'o2', '2026-02-10T10:00:00Z'),
        ].map((e) => record(e)),
      );
      const referral = async () => (await a.reader.kpis(calendar, isoToDay('2026-01-01')!, isoToDay('2026-03-31')!, 'month')).referral;
      expect(await referral()).toMatchObject({ invites: 1, conversions: 1, viralCycleDays: 36 });
      await a.apply([recordAdmin({ type: IDENTITY_MERGED, data: { mergeId: randomUUID(), survivorId: 'c1', mergedId: 'c2', requestedAt: '2027-01-01T00:00:00Z' } })]);
      // c3 invited c2, who is c1 now: the person's first purchase (c1's, 10 January) is the conversion.
      expect(await referral()).toMatchObject({ invites: 1, conversions: 1, viralCycleDays: 5 });
    } finally {
      await dropAndClose(a.store);
    }
  });

  it('after merge + unmerge every answer equals the one before; after the merge it equals the answer over the facts rewritten to the survivor', async () => {
    await fc.assert(
      fc.asyncProperty(events, fc.integer({ min: 1, max: 3 }), fc.nat(), fc.nat(), async (gen, batches, i, j) => {
        const present = [...new Set(gen.map((g) => (g.input as { customerId?: string }).customerId).filter((c): c is string => c !== undefined))].sort();
        fc.pre(present.length >= 2);
        const survivorId = present[i % present.length]!;
        const mergedId = present.filter((c) => c !== survivorId)[j % (present.length - 1)]!;
        const a = new Cairnish(await open());
        const b = new Cairnish(await open());
        try {
          const recorded = gen.map((g) => record(g.input, g.id));
          const size = Math.ceil(recorded.length / batches);
          for (let k = 0; k < recorded.length; k += size) await a.apply(recorded.slice(k, k + size));
          const before = await answers(a.reader, CUSTOMERS);

          const mergeId = randomUUID();
          await a.apply([recordAdmin({ type: IDENTITY_MERGED, data: { mergeId, survivorId, mergedId, requestedAt: '2027-01-01T00:00:00Z' } })]);
          const others = CUSTOMERS.filter((c) => c !== mergedId);
          const merged = await answers(a.reader, others);
          // The merged id answers as its person: the survivor.
          expect(await valueOf(a.reader, mergedId)).toBe(merged[`value of ${survivorId}`]);

          await b.apply(rewrite(gen, mergedId, survivorId).map((g) => record(g.input, g.id)));
          expect(merged).toEqual(await answers(b.reader, others));

          await a.apply([recordAdmin({ type: IDENTITY_UNMERGED, data: { mergeId, requestedAt: '2027-01-02T00:00:00Z' } })]);
          expect(await answers(a.reader, CUSTOMERS)).toEqual(before);
        } finally {
          await dropAndClose(a.store);
          await dropAndClose(b.store);
        }
      }),
      { numRuns: RUNS[name] },
    );
  }, 300_000);
});
