import fc from 'fast-check';
import { sql } from 'kysely';
import { cohortRetention, isoToDay, LocalCalendar, type RecordedCairnEvent } from '@cairn/domain';
import { openReadStore, type ReadStore } from '@cairn/read-models';
import { ProjectionHarness } from '../engine/harness';
import { analyticsProjection, loadAnalyticsFacts } from './analytics.projection';

let pos = 0n;
function rec(id: string, type: string, data: Record<string, unknown>): RecordedCairnEvent {
  pos += 10n;
  return { id, type: type as RecordedCairnEvent['type'], data: data as never, metadata: { receivedAt: '2026-05-01T00:00:00Z', correlationId: 'x' }, streamId: `customer-${data.customerId}`, revision: 0n, position: pos };
}
const purchase = (id: string, customerId: string, occurredAt: string, totalMinor: number) =>
  rec(id, 'cairn.purchase.v1', { customerId, occurredAt, channel: 'web', orderId: `o-${id}`, currency: 'USD', items: [{ productId: 'p', quantity: 1, unitPriceMinor: totalMinor }], totalMinor });

const EVENTS: RecordedCairnEvent[] = [
  purchase('p1', 'a', '2026-01-05T10:00:00+01:00', 1000),
  purchase('p2', 'a', '2026-02-10T10:00:00Z', 2000),
  purchase('p3', 'b', '2026-01-31T23:30:00Z', 500),
  rec('r1', 'cairn.return.v1', { customerId: 'a', occurredAt: '2026-02-12T10:00:00Z', channel: 'web', orderId: 'o-p2', items: [{ productId: 'p', quantity: 1 }], refundMinor: 2000, currency: 'USD' }),
  rec('v1', 'cairn.view.v1', { anonymousId: 'x', occurredAt: '2026-01-02T09:00:00Z', channel: 'web', productId: 'p' }),
  rec('f1', 'cairn.referral.v1', { customerId: 'a', occurredAt: '2026-01-06T09:00:00Z', channel: 'email', referralCode: 'A', refereeId: 'b' }),
  rec('m1', 'cairn.identity.merge.v1', { customerId: 'a', occurredAt: '2026-01-06T09:00:00Z' }),
];

describe('analytics projection (SQLite)', () => {
  let store: ReadStore;
  beforeEach(async () => {
    store = await openReadStore(':memory:');
  });
  afterEach(async () => store.close());

  const dump = (s: ReadStore) => s.db.selectFrom('analytics_facts').selectAll().orderBy('event_id').execute();

  it('one compact row per commerce event; unknown types ignored; re-applying changes nothing', async () => {
    const p = new ProjectionHarness(store, analyticsProjection());
    await p.apply(EVENTS);
    await p.apply(EVENTS);
    const rows = await dump(store);
    expect(rows.map((r) => [r.event_id, r.kind])).toEqual([
      ['f1', 'referral'],
      ['p1', 'purchase'],
      ['p2', 'purchase'],
      ['p3', 'purchase'],
      ['r1', 'return'],
      ['v1', 'view'],
    ]);
    expect(rows.find((r) => r.event_id === 'p1')).toMatchObject({ seq: 10, customer_id: 'a', order_id: 'o-p1', amount_minor: 1000, currency: 'USD', occurred_at: '2026-01-05T09:00:00.000Z', occurred_ms: Date.parse('2026-01-05T09:00:00Z') });

    const facts = await loadAnalyticsFacts(store.db, { untilMs: Date.parse('2026-03-01T00:00:00Z'), activity: true });
    expect(facts.orders).toHaveLength(3);
    expect(facts.returns).toEqual([{ customerId: 'a', orderId: 'o-p2', at: Date.parse('2026-02-12T10:00:00Z'), refundMinor: 2000 }]);
    expect(facts.activity.map((a) => a.kind).sort()).toEqual(['referral', 'view']);
    const rows2 = cohortRetention(facts, { period: 'month', returning: 'purchase', mode: 'bounded', cohort: 'first', asOfDay: isoToDay('2026-02-28')!, calendar: new LocalCalendar('Europe/Berlin') });
    // b's 23:30 UTC purchase is February in Berlin.
    expect(rows2.map((r) => [r.cohort, r.size])).toEqual([
      ['2026-01', 1],
      ['2026-02', 1],
    ]);
    const one = await loadAnalyticsFacts(store.db, { untilMs: Date.parse('2026-03-01T00:00:00Z'), activity: false, customerId: 'b' });
    expect(one.orders.map((o) => o.orderId)).toEqual(['o-p3']);
  });

  it('arrival order and batching never change the rows (property)', async () => {
    await new ProjectionHarness(store, analyticsProjection()).apply(EVENTS);
    const expected = await dump(store);
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray(EVENTS, { minLength: EVENTS.length }), fc.integer({ min: 1, max: 7 }), async (order, size) => {
        const other = await openReadStore(':memory:');
        try {
          const p = new ProjectionHarness(other, analyticsProjection());
          for (let i = 0; i < order.length; i += size) await p.apply(order.slice(i, i + size));
          expect(await dump(other)).toEqual(expected);
        } finally {
          await other.close();
        }
      }),
      { numRuns: 25 },
    );
  });
});

describe('analytics projection (PostgreSQL): same rows and facts as SQLite', () => {
  const PG_URL = process.env.CAIRN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `analytics_it_${process.pid}_${Date.now().toString(36)}`;
  afterAll(async () => {
    const admin = await openReadStore(PG_URL);
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(admin.db);
    await admin.close();
  });

  it('projects, reloads and types the rows identically', async () => {
    const lite = await openReadStore(':memory:');
    const pg = await openReadStore(PG_URL, { schema });
    try {
      await new ProjectionHarness(lite, analyticsProjection()).apply(EVENTS);
      const onPg = new ProjectionHarness(pg, analyticsProjection());
      await onPg.apply([...EVENTS].reverse());
      await onPg.apply(EVENTS);
      const q = (s: ReadStore) => s.db.selectFrom('analytics_facts').selectAll().orderBy('event_id').execute();
      expect(await q(pg)).toEqual(await q(lite));
      const until = { untilMs: Date.parse('2026-03-01T00:00:00Z'), activity: true };
      const sortFacts = (f: Awaited<ReturnType<typeof loadAnalyticsFacts>>) => JSON.stringify([...f.orders].sort((a, b) => a.orderId.localeCompare(b.orderId))) + JSON.stringify(f.returns);
      expect(sortFacts(await loadAnalyticsFacts(pg.db, until))).toEqual(sortFacts(await loadAnalyticsFacts(lite.db, until)));
    } finally {
      await lite.close();
      await pg.close();
    }
  });
});
