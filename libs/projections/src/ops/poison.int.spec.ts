/**
 * Poison events on the real embedded node and a real SQLite / PostgreSQL store: parked while live
 * (the projection carries on), retried after a fix, or stopping the projection in state `failed`.
 */
import { randomUUID } from 'crypto';
import { startEmbeddedNode, type EmbeddedNode } from '@cairn/esdb-embedded';
import { CairnEventStore } from '@cairn/event-store';
import { openReadStore, readCheckpoint, type ReadStore } from '@cairn/read-models';
import { sql } from 'kysely';
import { ProjectionEngine } from '../engine/engine';
import { listParked } from './parked';
import { countingProjection, until, viewEvent } from './test-support';

const PG_URL = process.env.CAIRN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const stores: [string, () => Promise<{ store: ReadStore; cleanup: () => Promise<void> }>][] = [
  ['SQLite', async () => ({ store: await openReadStore(':memory:'), cleanup: async () => undefined })],
  [
    'PostgreSQL',
    async () => {
      const schema = `t_poison_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
      const store = await openReadStore(PG_URL, { schema });
      return { store, cleanup: async () => void (await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(store.db)) };
    },
  ],
];

describe.each(stores)('poison events on %s', (_name, open) => {
  let node: EmbeddedNode;
  let events: CairnEventStore;
  let store: ReadStore;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    node = await startEmbeddedNode({ port: 0 });
    events = CairnEventStore.connect(node.connectionString);
    ({ store, cleanup } = await open());
  });
  afterEach(async () => {
    await cleanup();
    await store.close();
    await events.close();
    await node.close();
  });

  const counts = async () => {
    const { rows } = await sql<{ customer_id: string; events: number }>`select customer_id, events from ops_test_counts order by customer_id`.execute(store.db);
    return Object.fromEntries(rows.map((r) => [r.customer_id, r.events]));
  };

  it('parks a poison event while live, carries on, and retries it after a fix', async () => {
    const poisonous = { on: true };
    const projector = new ProjectionEngine(events, store, [countingProjection({ poisonous })], { batchSize: 100, batchMs: 5 });
    await projector.start();
    const poison = viewEvent('a', '2026-06-01T10:00:00Z', '2026-06-01T10:00:00Z', 'poison');
    await events.append([viewEvent('a', '2026-06-01T10:00:00Z', '2026-06-01T10:00:00Z'), poison, viewEvent('b', '2026-06-01T10:00:00Z', '2026-06-01T10:00:00Z')]);
    const last = await events.append([viewEvent('b', '2026-06-02T10:00:00Z', '2026-06-02T10:00:00Z')]);
    expect(await projector.waitFor(last!.commit, 10_000)).toBe(true);

    expect(await counts()).toEqual({ a: 1, b: 2 });
    const status = projector.statusOf('test-counts')!;
    expect(status.parked).toBe(1);
    expect(['live', 'catching-up']).toContain(status.state);
    expect(status.lastError).toContain('cannot fold product poison');
    const parked = await listParked(store.db);
    expect(parked).toHaveLength(1);
    expect(parked[0]).toMatchObject({ projection: 'test-counts', projectionVersion: 1, eventId: poison.id, type: 'cairn.view.v1', attempts: 1 });
    expect(parked[0].error).toContain('cannot fold product poison');
    expect(parked[0].event.position).toBeGreaterThan(0n);

    // Still broken: stays parked, one more attempt.
    const again = await projector.retryParked('test-counts');
    expect(again).toMatchObject({ retried: 0, stillFailing: [{ eventId: poison.id }] });
    expect((await listParked(store.db))[0].attempts).toBe(2);

    poisonous.on = false;
    expect(await projector.retryParked('test-counts')).toMatchObject({ retried: 1, stillFailing: [] });
    expect(await listParked(store.db)).toHaveLength(0);
    expect(projector.statusOf('test-counts')!.parked).toBe(0);
    expect(await counts()).toEqual({ a: 2, b: 2 });
    await projector.stop();
  });

  it("with onPoison 'stop', stops in state failed at the event, before committing it", async () => {
    const projector = new ProjectionEngine(events, store, [countingProjection({ poisonous: { on: true } })], { batchSize: 100, batchMs: 5, onPoison: 'stop' });
    await projector.start();
    const good = await events.append([viewEvent('a', '2026-06-01T10:00:00Z', '2026-06-01T10:00:00Z')]);
    const poison = viewEvent('a', '2026-06-01T10:00:00Z', '2026-06-01T10:00:00Z', 'poison');
    await events.append([poison, viewEvent('b', '2026-06-01T10:00:00Z', '2026-06-01T10:00:00Z')]);
    await until(() => projector.statusOf('test-counts')!.state === 'failed', 10_000, 'failed state');
    const status = projector.statusOf('test-counts')!;
    expect(status.failedEvent).toMatchObject({ id: poison.id, type: 'cairn.view.v1' });
    expect(status.lastError).toContain(poison.id);
    expect(await readCheckpoint(store.db, 'test-counts')).toBe(good!.commit);
    expect(await listParked(store.db)).toHaveLength(0);
    await projector.stop();
    expect(projector.statusOf('test-counts')!.state).toBe('failed');
  });

  it('resumes from the stored checkpoint when another writer moves it', async () => {
    const projector = new ProjectionEngine(events, store, [countingProjection()], { batchSize: 100, batchMs: 5 });
    await projector.start();
    const first = await events.append([viewEvent('a', '2026-06-01T10:00:00Z', '2026-06-01T10:00:00Z')]);
    expect(await projector.waitFor(first!.commit, 10_000)).toBe(true);
    // Something else (a rebuild's switch) replaces the rows and the checkpoint while the projector
    // waits for the store with the second event in hand: that batch must be dropped, not applied.
    await store.transaction(async (trx) => {
      // Holds the checkpoint row from the start, as a switch does (SQLite: BEGIN IMMEDIATE already holds the writer lock).
      if (store.kind === 'postgres') await sql`select position from checkpoints where projection = 'test-counts' for update`.execute(trx);
      const second = await events.append([viewEvent('a', '2026-06-01T10:00:00Z', '2026-06-01T10:00:00Z')]);
      await new Promise((r) => setTimeout(r, 100));
      await sql`update ops_test_counts set events = 100 where customer_id = 'a'`.execute(trx);
      await sql`update checkpoints set position = ${second!.commit.toString()} where projection = 'test-counts'`.execute(trx);
    });
    const third = await events.append([viewEvent('a', '2026-06-01T10:00:00Z', '2026-06-01T10:00:00Z')]);
    expect(await projector.waitFor(third!.commit, 10_000)).toBe(true);
    expect((await counts()).a).toBe(101);
    expect(await readCheckpoint(store.db, 'test-counts')).toBe(third!.commit);
    await projector.stop();
  });
});
