import { evolveProfile, type FoldableEvent, type Profile } from '@cairn/domain';
import { saveProfiles, type ReadStore } from '@cairn/read-models';
import { toAnalyticsFact } from '../analytics';
import { latestRfmRun, rfmDistribution, rfmHistory, rfmSegmentMembers, runRfm, scheduledRunDue } from './rfm-runs';
import { dropAndClose, readStoreDialects } from '../../../../test/support/read-stores';

function profile(id: string, orders: { at: string; total: number }[]): Profile {
  return orders
    .map((o, i): FoldableEvent => ({
      id: `${id}-${i}`,
      type: 'cairn.purchase.v1',
      data: { customerId: id, occurredAt: o.at, channel: 'web', orderId: `${id}-o${i}`, currency: 'USD', items: [{ productId: 'p', quantity: 1, unitPriceMinor: o.total }], totalMinor: o.total } as never,
    }))
    .reduce<Profile | undefined>((p, e) => evolveProfile(p, id, e, { currency: 'USD' }), undefined)!;
}

const dialects = readStoreDialects('t_seg');

describe.each(dialects)('RFM runs on a real read store (%s)', (_name, open) => {
  let store: ReadStore;
  beforeEach(async () => {
    store = await open();
    const profiles = Array.from({ length: 25 }, (_, i) =>
      profile(`c${String(i).padStart(2, '0')}`, Array.from({ length: 1 + (i % 5) }, (_, k) => ({ at: new Date(Date.UTC(2026, i % 12, 1 + k)).toISOString(), total: 100 * (i + 1) }))),
    );
    profiles.push(profile('outside', [{ at: '2020-01-01T00:00:00Z', total: 100 }]));
    await store.transaction((trx) => saveProfiles(trx, profiles));
  });
  afterEach(() => dropAndClose(store));

  it('computes a run, serves the grid, segment members page by page and the history', async () => {
    await expect(rfmDistribution(store.db)).rejects.toMatchObject({ code: 'CAIRN.NOT_FOUND' });
    const run = await runRfm(store, { asOf: new Date('2026-12-31T00:00:00Z'), windowDays: 365, trigger: 'demand', timezone: 'Europe/Berlin' });
    expect(run).toMatchObject({ status: 'done', customers: 25, windowDays: 365, localDate: '2026-12-31' });
    const dist = await rfmDistribution(store.db);
    expect(dist.grid.flat().reduce((a, b) => a + b, 0)).toBe(25);
    expect(dist.segments.reduce((a, s) => a + s.customers, 0)).toBe(25);
    const champions = dist.segments.find((s) => s.segment === 'champions')!.customers;
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await rfmSegmentMembers(store.db, 'champions', { limit: 2, cursor });
      seen.push(...page.items.map((m) => m.customerId));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen.length).toBe(champions);
    expect([...seen].sort()).toEqual(seen);
    const second = await runRfm(store, { asOf: new Date('2027-06-30T00:00:00Z'), windowDays: 365, trigger: 'schedule', timezone: 'UTC' });
    expect((await latestRfmRun(store.db))!.runId).toBe(second.runId);
    const history = await rfmHistory(store.db, 'c11');
    expect(history.map((h) => h.runId)).toEqual([run.runId, second.runId]);
    expect(await scheduledRunDue(store.db, new Date('2027-06-30T12:00:00Z'), 'UTC')).toBe(false);
    expect(await scheduledRunDue(store.db, new Date('2027-07-01T00:30:00Z'), 'UTC')).toBe(true);
  });

  it('as of a past instant, ignores the returns that occurred after it (and keeps those before)', async () => {
    let n = 0;
    const ev = (type: FoldableEvent['type'], at: string, extra: Record<string, unknown>): FoldableEvent => ({
      id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
      type,
      data: { customerId: 'late', occurredAt: at, channel: 'web', ...extra } as never,
    });
    const events = [
      ev('cairn.purchase.v1', '2026-03-01T00:00:00Z', { orderId: 'late-o1', currency: 'USD', items: [{ productId: 'p', quantity: 1, unitPriceMinor: 5000 }], totalMinor: 5000 }),
      ev('cairn.return.v1', '2026-04-01T00:00:00Z', { orderId: 'late-o1', items: [{ productId: 'p', quantity: 1 }], refundMinor: 1000, currency: 'USD' }),
      ev('cairn.return.v1', '2026-08-01T00:00:00Z', { orderId: 'late-o1', items: [{ productId: 'p', quantity: 1 }], refundMinor: 1500, currency: 'USD' }),
    ];
    const p = events.reduce<Profile | undefined>((acc, e) => evolveProfile(acc, 'late', e, { currency: 'USD' }), undefined)!;
    const facts = events.map((e, i) => toAnalyticsFact({ ...e, metadata: { receivedAt: e.data.occurredAt }, streamId: 'customer-late', revision: BigInt(i), position: BigInt(i + 1) } as never)!);
    await store.transaction(async (trx) => {
      await saveProfiles(trx, [p]);
      await trx.insertInto('analytics_facts').values(facts).execute();
    });
    const netAt = async (asOf: string) => {
      await runRfm(store, { asOf: new Date(asOf), windowDays: 365, trigger: 'demand', timezone: 'UTC' });
      return (await rfmHistory(store.db, 'late')).at(-1)!.netMinor;
    };
    expect(await netAt('2026-03-15T00:00:00Z')).toBe(5000); // before both returns
    expect(await netAt('2026-05-01T00:00:00Z')).toBe(4000); // the April return only
    expect(await netAt('2026-12-31T00:00:00Z')).toBe(2500); // both
    expect(p.state.orderRefunds['late-o1']).toBe(2500); // the profile alone nets both at every instant
  });
});
