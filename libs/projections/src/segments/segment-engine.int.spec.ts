import { IDENTITY_MERGED, IDENTITY_UNMERGED, type Condition, type EventInput } from '@cairn/domain';
import type { ReadStore } from '@cairn/read-models';
import { ProjectionHarness } from '../engine/harness';
import { profileProjection } from '../profile.projection';
import { defineSegmentRow, record, recordAdmin } from '../identity/identity.test-support';
import { evaluateDirty, listSegmentMembers, sweepSegments } from './segment-engine';
import { dropAndClose, readStoreDialects } from '../../../../test/support/read-stores';

const lapsed: Condition = { all: [{ count: { type: 'purchase', withinDays: 60 }, op: '=', value: 0 }, { field: 'orders', op: '>=', value: 1 }] };
const purchase = (customerId: string, orderId: string, occurredAt: string): EventInput => ({
  type: 'purchase', customerId, occurredAt, channel: 'web', orderId, currency: 'USD', items: [{ productId: 'p', quantity: 1, unitPriceMinor: 100 }], totalMinor: 100,
});

const dialects = readStoreDialects('t_seg');

describe.each(dialects)('segment membership on a real read store (%s)', (_name, open) => {
  let store: ReadStore;
  let harness: ProjectionHarness;
  const apply = (events: EventInput[]) => harness.apply(events.map((e) => record(e)));
  const members = async (id: string) => (await listSegmentMembers(store.db, id, { limit: 100 })).items.map((m) => m.customerId);
  const outbox = async () => (await store.db.selectFrom('segment_outbox').selectAll().orderBy('seq').execute()).map((r) => [r.type, JSON.parse(r.data).customerId]);

  beforeEach(async () => {
    store = await open();
    harness = new ProjectionHarness(store, profileProjection({ currency: 'USD' }));
  });
  afterEach(() => dropAndClose(store));

  it('evaluates a new segment over existing profiles, then on each event, then as time passes', async () => {
    await apply([purchase('a', 'a1', '2026-01-01T00:00:00Z'), purchase('b', 'b1', '2026-03-01T00:00:00Z')]);
    await defineSegmentRow(store, 's1', lapsed);
    const march10 = { asOf: new Date('2026-03-10T00:00:00Z') };
    await sweepSegments(store, march10);
    expect(await members('s1')).toEqual(['a']);
    // An event: a buys again; the projection marks a dirty, evaluation makes a exit.
    await apply([purchase('a', 'a2', '2026-03-09T00:00:00Z')]);
    expect(await evaluateDirty(store, march10)).toBe(1);
    expect(await members('s1')).toEqual([]);
    // Time passes: by May 9 both have had no purchase for 60 days; no new event needed.
    await sweepSegments(store, { asOf: new Date('2026-05-09T00:00:00Z') });
    expect(await members('s1')).toEqual(['a', 'b']);
    expect(await outbox()).toEqual([
      ['cairn.segment.entered.v1', 'a'],
      ['cairn.segment.exited.v1', 'a'],
      ['cairn.segment.entered.v1', 'a'],
      ['cairn.segment.entered.v1', 'b'],
    ]);
    expect((await store.db.selectFrom('segments').select('needs_sweep').executeTakeFirstOrThrow()).needs_sweep).toBe(0);
  });

  it('follows merges and unmerges: the absorbed id exits, the survivor is re-evaluated, unmerge restores the member set', async () => {
    await defineSegmentRow(store, 'two-orders', { field: 'orders', op: '>=', value: 2 });
    await defineSegmentRow(store, 'one-order', { field: 'orders', op: '=', value: 1 });
    await apply([purchase('x', 'x1', '2026-01-01T00:00:00Z'), purchase('y', 'y1', '2026-01-02T00:00:00Z')]);
    const ctx = { asOf: new Date('2026-02-01T00:00:00Z') };
    await sweepSegments(store, ctx);
    while ((await evaluateDirty(store, ctx)) > 0);
    expect([await members('one-order'), await members('two-orders')]).toEqual([['x', 'y'], []]);
    await harness.apply([recordAdmin({ type: IDENTITY_MERGED, data: { mergeId: 'm', survivorId: 'y', mergedId: 'x', requestedAt: '2026-02-01T00:00:00Z' } })]);
    while ((await evaluateDirty(store, ctx)) > 0);
    expect([await members('one-order'), await members('two-orders')]).toEqual([[], ['y']]);
    await harness.apply([recordAdmin({ type: IDENTITY_UNMERGED, data: { mergeId: 'm', requestedAt: '2026-02-02T00:00:00Z' } })]);
    while ((await evaluateDirty(store, ctx)) > 0);
    expect([await members('one-order'), await members('two-orders')]).toEqual([['x', 'y'], []]);
  });
});
