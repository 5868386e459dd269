/**
 * Identity through the profile projection on a real SQLite read store: retroactive linking, merge →
 * unmerge restoring every identity/profile table to its earlier bytes, and the shared-device guard.
 */
import { randomUUID } from 'crypto';
import { sql } from 'kysely';
import { IDENTITY_MERGED, IDENTITY_UNMERGED, type EventInput } from '@cairn/domain';
import { getProfile, openReadStore, type ReadStore } from '@cairn/read-models';
import { dump, record, recordAdmin } from './identity.test-support';
import { ProjectionHarness } from '../engine/harness';
import { profileProjection } from '../profile.projection';
import type { LogEvent } from '../projection';
import { resolveCustomer } from './resolve-customer';

const view = (anonymousId: string | undefined, customerId: string | undefined, at: string, category = 'shoes'): EventInput =>
  ({ type: 'view', anonymousId, customerId, occurredAt: at, channel: 'web', productId: 'p1', category }) as EventInput;
const purchase = (customerId: string, orderId: string, at: string, total = 1000): EventInput => ({
  type: 'purchase',
  customerId,
  occurredAt: at,
  channel: 'app',
  orderId,
  currency: 'USD',
  items: [{ productId: 'p1', category: 'shoes', quantity: 1, unitPriceMinor: total }],
  totalMinor: total,
});

const PG_URL = process.env.CAIRN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const dialects: [string, () => Promise<ReadStore>][] = [
  ['SQLite', () => openReadStore(':memory:')],
  ['PostgreSQL', () => openReadStore(PG_URL, { schema: `t_identity_${randomUUID().replace(/-/g, '').slice(0, 12)}` })],
];

describe.each(dialects)('identity in the profile projection (%s)', (_name, open) => {
  let store: ReadStore;
  let harness: ProjectionHarness;
  // Each batch through a fresh fold state (a restarted process: everything loaded back from the
  // store), and every other batch through the same one, as the engine keeps it between batches.
  let batches = 0;
  const apply = async (events: LogEvent[]) => {
    if (batches++ % 2 === 0) harness.restart();
    await harness.apply(events);
  };

  beforeEach(async () => {
    store = await open();
    harness = new ProjectionHarness(store, profileProjection({ currency: 'USD', sharedDeviceLimit: 3 }));
    batches = 0;
  });
  afterEach(async () => {
    if (store.kind === 'postgres') await sql`drop schema if exists ${sql.id(await currentSchema(store))} cascade`.execute(store.db);
    await store.close();
  });

  it('links earlier anonymous views to the customer retroactively (identify arriving last)', async () => {
    await apply([record(view('a1', undefined, '2026-01-01T00:00:00Z')), record(view('a1', undefined, '2026-01-02T00:00:00Z'))]);
    await apply([record(purchase('c1', 'o1', '2026-01-05T00:00:00Z'))]);
    expect((await getProfile(store.db, 'c1'))!.views).toBe(0);
    await apply([record({ type: 'identify', customerId: 'c1', anonymousId: 'a1', occurredAt: '2026-01-03T00:00:00Z', channel: 'web' })]);
    const p = (await getProfile(store.db, 'c1'))!;
    expect(p.views).toBe(2);
    expect(p.firstSeenAt).toBe('2026-01-01T00:00:00.000Z');
    expect(p.favouriteCategories.viewed).toEqual([{ category: 'shoes', count: 2 }]);
    // Later anonymous views follow the link.
    await apply([record(view('a1', undefined, '2026-01-09T00:00:00Z'))]);
    expect((await getProfile(store.db, 'c1'))!.views).toBe(3);
    expect(await resolveCustomer(store.db, 'c1')).toMatchObject({ customerId: 'c1', customerIds: ['c1'], anonymousIds: ['a1'], sharedDevices: [] });
  });

  it('links by any event carrying both ids', async () => {
    await apply([record(view('a2', undefined, '2026-01-01T00:00:00Z')), record(view('a2', 'c2', '2026-01-02T00:00:00Z'))]);
    expect((await getProfile(store.db, 'c2'))!.views).toBe(2);
  });

  it('merges and unmerges, restoring the read models to their earlier bytes', async () => {
    await apply([
      record(purchase('c1', 'o1', '2026-01-05T00:00:00Z', 1000)),
      record(purchase('c2', 'o2', '2026-02-05T00:00:00Z', 3000)),
      record(view('a1', undefined, '2026-01-01T00:00:00Z')),
      record({ type: 'identify', customerId: 'c2', anonymousId: 'a1', occurredAt: '2026-01-03T00:00:00Z', channel: 'web' }),
    ]);
    const before = await dump(store);
    await apply([recordAdmin({ type: IDENTITY_MERGED, data: { mergeId: 'm1', survivorId: 'c2', mergedId: 'c1', requestedAt: '2026-03-01T00:00:00Z' } })]);
    expect(await getProfile(store.db, 'c1')).toBeNull();
    const merged = (await getProfile(store.db, 'c2'))!;
    expect(merged).toMatchObject({ orders: 2, grossMinor: 4000, views: 1, medianDaysBetweenOrders: 31 });
    expect(merged.firstOrder!.orderId).toBe('o1');
    expect(await resolveCustomer(store.db, 'c1')).toMatchObject({ customerId: 'c2', customerIds: ['c1', 'c2'], anonymousIds: ['a1'] });
    await apply([recordAdmin({ type: IDENTITY_UNMERGED, data: { mergeId: 'm1', requestedAt: '2026-03-02T00:00:00Z' } })]);
    expect(await dump(store)).toBe(before);
  });

  it('flags an anonymous id linked to more than N customers and does not merge through it', async () => {
    const ids = ['d1', 'd2', 'd3'];
    await apply([
      record(view('shared', undefined, '2026-01-01T00:00:00Z')),
      ...ids.map((c, i) => record({ type: 'identify', customerId: c, anonymousId: 'shared', occurredAt: `2026-01-0${i + 2}T00:00:00Z`, channel: 'web' })),
    ]);
    // Three customers (= N): one person, the smallest id survives.
    expect((await resolveCustomer(store.db, 'd3'))!.customerIds).toEqual(['d1', 'd2', 'd3']);
    expect((await getProfile(store.db, 'd1'))!.views).toBe(1);
    await apply([record({ type: 'identify', customerId: 'd4', anonymousId: 'shared', occurredAt: '2026-01-09T00:00:00Z', channel: 'web' })]);
    for (const c of ['d1', 'd2', 'd3', 'd4']) {
      const r = (await resolveCustomer(store.db, c))!;
      expect(r).toMatchObject({ customerId: c, customerIds: [c], anonymousIds: [], sharedDevices: ['shared'] });
      expect((await getProfile(store.db, c))!.views).toBe(0);
    }
  });
});

describe('profiles folded before identity existed', () => {
  it('seed the customer source from the profiles row', async () => {
    const store = await openReadStore(':memory:');
    try {
      const { evolveProfile } = await import('@cairn/domain');
      const { saveProfiles } = await import('@cairn/read-models');
      const first = record(purchase('old', 'o1', '2026-01-01T00:00:00Z'));
      await store.transaction((trx) => saveProfiles(trx, [evolveProfile(undefined, 'old', first, { currency: 'USD' })]));
      await new ProjectionHarness(store, profileProjection({ currency: 'USD' })).apply([record(purchase('old', 'o2', '2026-01-03T00:00:00Z'))]);
      expect((await getProfile(store.db, 'old'))!.orders).toBe(2);
    } finally {
      await store.close();
    }
  });
});

async function currentSchema(store: ReadStore): Promise<string> {
  const r = await sql<{ s: string }>`select current_schema() as s`.execute(store.db);
  return r.rows[0]!.s;
}
