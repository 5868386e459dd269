/**
 * The checkpointed projector on the real embedded node, into SQLite and PostgreSQL: the profile
 * read model equals the pure fold of each customer's events, across a restart mid-stream, and
 * appends racing the catch-up are neither lost nor double-counted.
 */
import { randomUUID } from 'crypto';
import { sql } from 'kysely';
import { evolveProfile, streamFor, toStoredEvent, type EventInput, type Profile } from '@cairn/domain';
import { startEmbeddedNode, type EmbeddedNode } from '@cairn/esdb-embedded';
import { CairnEventStore, type EventToAppend } from '@cairn/event-store';
import { ProjectionEngine, profileProjection } from '@cairn/projections';
import { getProfile, openReadStore, readCheckpoint, type ReadStore } from '@cairn/read-models';

const PG_URL = process.env.CAIRN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const rules = { currency: 'USD' };

function generate(count: number, customers: number, seed: number): EventToAppend[] {
  let x = seed;
  const rnd = (n: number) => ((x = (x * 1103515245 + 12345) % 2147483648), x % n);
  const out: EventToAppend[] = [];
  for (let i = 0; i < count; i++) {
    const customerId = `c${rnd(customers)}`;
    const occurredAt = new Date(Date.UTC(2026, 0, 1) + rnd(300) * 86_400_000 + rnd(86_400) * 1000).toISOString();
    const kind = rnd(10);
    const input: EventInput =
      kind < 5
        ? { type: 'view', customerId, occurredAt, channel: 'web', productId: `p${rnd(50)}` }
        : kind < 8
          ? { type: 'purchase', customerId, occurredAt, channel: 'app', orderId: `o${i}`, currency: 'USD', items: [{ productId: 'p', quantity: 1, unitPriceMinor: rnd(10_000) }], totalMinor: 0 }
          : kind < 9
            ? { type: 'return', customerId, occurredAt, channel: 'web', orderId: `o${i - 1}`, items: [{ productId: 'p', quantity: 1 }], refundMinor: rnd(500), currency: 'USD' }
            : { type: 'review', customerId, occurredAt, channel: 'email', productId: 'p', rating: 1 + rnd(5) };
    if (input.type === 'purchase') (input as { totalMinor: number }).totalMinor = input.items[0].unitPriceMinor;
    out.push({ id: randomUUID(), streamId: streamFor(input), event: toStoredEvent(input), metadata: { receivedAt: occurredAt, correlationId: 'test' } });
  }
  return out;
}

function expectedProfiles(events: readonly EventToAppend[]): Map<string, Profile> {
  const byCustomer = new Map<string, Profile>();
  for (const e of events) {
    const id = e.event.data.customerId!;
    byCustomer.set(id, evolveProfile(byCustomer.get(id), id, { id: e.id, type: e.event.type, data: e.event.data }, rules));
  }
  return byCustomer;
}

async function appendInBatches(store: CairnEventStore, events: readonly EventToAppend[]): Promise<bigint> {
  let last = 0n;
  for (let i = 0; i < events.length; i += 250) {
    const pos = await store.append(events.slice(i, i + 250));
    if (pos && pos.commit > last) last = pos.commit;
  }
  return last;
}

async function waitForCheckpoint(projector: ProjectionEngine, position: bigint): Promise<void> {
  if (!(await projector.waitFor(position, 20_000))) throw new Error(`projector did not reach ${position}: ${JSON.stringify(projector.status(), (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
}

const dialects: [string, () => Promise<{ store: ReadStore; cleanup: () => Promise<void> }>][] = [
  ['SQLite', async () => { const store = await openReadStore(':memory:'); return { store, cleanup: () => store.close() }; }],
  [
    'PostgreSQL',
    async () => {
      const schema = `t_projector_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
      const store = await openReadStore(PG_URL, { schema }).catch((err: Error) => {
        throw new Error(`PostgreSQL is required by these tests (CI starts it; CAIRN_TEST_PG_URL overrides): ${err.message}`);
      });
      return {
        store,
        cleanup: async () => {
          await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(store.db);
          await store.close();
        },
      };
    },
  ],
];

describe.each(dialects)('projector into %s', (_name, open) => {
  let node: EmbeddedNode;
  let events: CairnEventStore;
  let store: ReadStore;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    node = await startEmbeddedNode({ port: 0 });
    events = CairnEventStore.connect(node.connectionString);
    ({ store, cleanup } = await open());
  });
  afterAll(async () => {
    await cleanup?.();
    await events?.close();
    await node?.close();
  });

  it('folds every event exactly once, across a restart and appends racing the catch-up', async () => {
    const all = generate(3000, 60, 7);
    // Noise the projector must skip: another stream, another type.
    await events.client.appendToStream('other-1', [{ id: randomUUID(), type: 'shop.other', contentType: 'application/json', data: {}, metadata: undefined } as never]);
    await appendInBatches(events, all.slice(0, 1500));

    const first = new ProjectionEngine(events, store, [profileProjection(rules)], { batchSize: 200, batchMs: 5 });
    await first.start();
    const racing = appendInBatches(events, all.slice(1500, 2200));
    await new Promise((r) => setTimeout(r, 30));
    await first.stop();
    const stoppedAt = await readCheckpoint(store.db, 'profiles');
    await racing;

    const second = new ProjectionEngine(events, store, [profileProjection(rules)], { batchSize: 200, batchMs: 5 });
    await second.start();
    const last = await appendInBatches(events, all.slice(2200));
    await waitForCheckpoint(second, last);
    await second.stop();

    expect(stoppedAt === null || stoppedAt <= last).toBe(true);
    expect(await readCheckpoint(store.db, 'profiles')).toBe(last);
    for (const [id, profile] of expectedProfiles(all)) {
      expect(await getProfile(store.db, id)).toEqual(profile);
    }
  });
});
