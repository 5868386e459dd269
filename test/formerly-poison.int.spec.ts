/**
 * A log written before the ingest contract was tightened holds events the projections cannot fold
 * (issue 12): `customerId: null` (stream `customer-null`), an identify with `anonymousId: null`, a
 * refund of 1e21, a price of 1e308, a `refereeId: null`, one customer's order totals past
 * Number.MAX_SAFE_INTEGER. Events are immutable, so a rebuild must not fail at them for good:
 * it parks each one for the projection that rejects it, reports it, and switches; `strict`
 * stops at the first. Appended here through the raw client, bypassing today's ingest validation.
 */
import { randomUUID } from 'crypto';
import { jsonEvent } from '@eventstore/db-client';
import { startEmbeddedNode, type EmbeddedNode } from '@cairn/esdb-embedded';
import { CairnEventStore } from '@cairn/event-store';
import { RebuildJob, cairnProjections, listParked } from '@cairn/projections';
import type { ReadStore } from '@cairn/read-models';
import { PG_URL, dropAndClose, readStoreDialects } from './support/read-stores';

const AT = '2026-03-01T10:00:00Z';
const META = { receivedAt: AT, correlationId: 'legacy' };

/** [stream, type, data] as an old, laxer ingest accepted them. */
const LEGACY: [string, string, Record<string, unknown>][] = [
  ['customer-null', 'cairn.purchase.v1', { customerId: null, occurredAt: AT, channel: 'web', orderId: 'o-null', currency: 'USD', items: [{ productId: 'p', quantity: 1, unitPriceMinor: 100 }], totalMinor: 100 }],
  ['customer-legacy-1', 'cairn.identify.v1', { customerId: 'legacy-1', anonymousId: null, occurredAt: AT, channel: 'web' }],
  ['customer-legacy-2', 'cairn.return.v1', { customerId: 'legacy-2', occurredAt: AT, channel: 'web', orderId: 'o-2', items: [{ productId: 'p', quantity: 1 }], refundMinor: 1e21, currency: 'USD' }],
  ['customer-legacy-3', 'cairn.view.v1', { customerId: 'legacy-3', occurredAt: AT, channel: 'web', productId: 'p', priceMinor: 1e308, currency: 'USD' }],
  ['customer-legacy-4', 'cairn.referral.v1', { customerId: 'legacy-4', occurredAt: AT, channel: 'social', referralCode: 'R-4', refereeId: null }],
  ['customer-legacy-5', 'cairn.purchase.v1', { customerId: 'legacy-5', occurredAt: AT, channel: 'web', orderId: 'o-5a', currency: 'USD', items: [{ productId: 'p', quantity: 1, unitPriceMinor: 8e15 }], totalMinor: 8e15 }],
  ['customer-legacy-5', 'cairn.purchase.v1', { customerId: 'legacy-5', occurredAt: AT, channel: 'web', orderId: 'o-5b', currency: 'USD', items: [{ productId: 'p', quantity: 1, unitPriceMinor: 8e15 }], totalMinor: 8e15 }],
];

const GOOD = Array.from({ length: 20 }, (_, i) => ({
  stream: `customer-good-${i % 4}`,
  type: 'cairn.purchase.v1',
  data: { customerId: `good-${i % 4}`, occurredAt: AT, channel: 'web', orderId: `g-${i}`, currency: 'USD', items: [{ productId: 'p', quantity: 1, unitPriceMinor: 500 }], totalMinor: 500 },
}));

describe.each(readStoreDialects('t_legacy'))('a rebuild over formerly poison events (%s)', (_name, open) => {
  let node: EmbeddedNode;
  let events: CairnEventStore;
  let store: ReadStore;

  beforeAll(async () => {
    node = await startEmbeddedNode({ port: 0 });
    events = CairnEventStore.connect(node.connectionString);
    const all = [...GOOD.slice(0, 10).map((g) => [g.stream, g.type, g.data] as const), ...LEGACY, ...GOOD.slice(10).map((g) => [g.stream, g.type, g.data] as const)];
    for (const [stream, type, data] of all) {
      await events.client.appendToStream(stream, jsonEvent({ id: randomUUID(), type, data: data as never, metadata: META as never }));
    }
    store = await open();
  });
  afterAll(async () => {
    await dropAndClose(store);
    await events.close();
    await node.close();
  });

  const live = async () => {
    const schema = store.kind === 'postgres' ? ((await store.db.selectNoFrom((eb) => eb.fn<string>('current_schema', []).as('s')).executeTakeFirstOrThrow()).s as string) : undefined;
    return { store, url: store.kind === 'postgres' ? PG_URL : ':memory:', ...(schema !== undefined ? { schema } : {}) };
  };

  it('strict: stops at the first one it meets', async () => {
    const status = await (await RebuildJob.start({ events, live: await live() }, cairnProjections({ currency: 'USD', timezone: 'UTC' }), { strict: true })).done;
    expect(status.phase).toBe('failed');
    expect(status.failedEvent).not.toBeNull();
  });

  it('by default parks each one for the projection that rejects it, reports it and switches; the good events are all there', async () => {
    const status = await (await RebuildJob.start({ events, live: await live() }, cairnProjections({ currency: 'USD', timezone: 'UTC' }))).done;
    expect({ phase: status.phase, error: status.error }).toEqual({ phase: 'switched', error: null });
    expect(status.parked.profiles).toBeGreaterThanOrEqual(3);
    expect(status.parkedEvents.length).toBe(Object.values(status.parked).reduce((a, b) => a + b, 0));
    const parked = await listParked(store.db);
    expect(parked.length).toBe(status.parkedEvents.length);
    // Every profile money figure is exact; the good customers have every order.
    const profiles = await store.db.selectFrom('profiles').select(['customer_id', 'orders', 'gross_minor']).orderBy('customer_id').execute();
    for (const p of profiles) expect(Number.isSafeInteger(Number(p.gross_minor))).toBe(true);
    const good = profiles.filter((p) => p.customer_id.startsWith('good-'));
    expect(good.map((p) => [p.customer_id, Number(p.orders), Number(p.gross_minor)])).toEqual([0, 1, 2, 3].map((i) => [`good-${i}`, 5, 2500]));
    expect(profiles.some((p) => p.customer_id === 'null')).toBe(false);
    const facts = await store.db.selectFrom('analytics_facts').select((eb) => eb.fn.countAll().as('n')).where('customer_id', 'like', 'good-%').executeTakeFirstOrThrow();
    expect(Number(facts.n)).toBe(20);
  });
});
