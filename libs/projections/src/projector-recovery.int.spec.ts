/**
 * Evidence for issue 11's loss hunt, white-box: drives today's Projector (through a ReadStore
 * wrapper and, for the first case, its private `buffer`/`subscription`) into two recovery paths that
 * move the checkpoint past events never applied. Both fail on the current projector; they reach
 * into its internals, so the rewrite may replace them with its own tests of the same sequences.
 *
 * 1. A batch's transaction fails while the store is unreachable (ping fails) just after the event
 *    store subscription failed: `fail()` already set `subscription = null`, so commitBuffered's
 *    catch does not discard the buffer; the flush that `fail()` queued then commits the events
 *    that arrived *after* the failed batch, with their checkpoint, and the failed batch is skipped.
 * 2. A transient connection error (57P01) fails a batch, ping succeeds on a fresh connection, and
 *    the first per-event transaction of isolate() also meets a connection error: the event is
 *    parked as poison although nothing is wrong with it.
 */
import { sql } from 'kysely';
import { startEmbeddedNode, type EmbeddedNode } from '@cairn/esdb-embedded';
import { CairnEventStore } from '@cairn/event-store';
import { openReadStore, readCheckpoint, type ReadStore } from '@cairn/read-models';
import { Projector } from './projector';
import { appendViews, countingProjection, until } from './ops/test-support';

it('does not skip a batch that fails with the store unreachable right after the subscription failed (fails today)', async () => {
  const node: EmbeddedNode = await startEmbeddedNode({ port: 0 });
  const events = CairnEventStore.connect(node.connectionString);
  const real: ReadStore = await openReadStore(':memory:');
  let armed = false;
  let down = false;
  let projector!: Projector;
  const store: ReadStore = {
    kind: real.kind,
    db: real.db,
    close: () => real.close(),
    ping: async () => {
      if (down) {
        down = false; // the outage ends right after this probe
        throw new Error('connect ECONNREFUSED (store down)');
      }
      return real.ping();
    },
    transaction: async (fn) => {
      if (!armed) return real.transaction(fn);
      armed = false;
      // The batch's transaction hangs on a dying connection while live events keep arriving...
      const p = projector as unknown as { buffer: unknown[]; subscription: { emit(e: string, err: Error): void } | null };
      await appendViews(events, 40, 4, 'late');
      await until(() => p.buffer.length > 0, 10_000, 'live events buffered behind the failing batch');
      // ...the same outage breaks the event-store subscription...
      p.subscription!.emit('error', new Error('14 UNAVAILABLE: Connection dropped'));
      down = true;
      // ...and the transaction fails.
      throw new Error('Connection terminated unexpectedly');
    },
  };
  projector = new Projector(events, store, countingProjection(), { batchSize: 10_000, batchMs: 20 });
  await projector.start();
  const first = await appendViews(events, 100, 4);
  await until(async () => (await readCheckpoint(real.db, 'test-counts')) === first, 10_000, 'first batch');
  armed = true;
  const second = await appendViews(events, 60, 4); // this batch fails
  await until(async () => !armed, 10_000, 'the armed transaction');
  const head = second + 40n;
  await until(async () => (await readCheckpoint(real.db, 'test-counts')) === head, 10_000, 'checkpoint at head');
  const { rows } = await sql<{ n: number }>`select coalesce(sum(events), 0) as n from ops_test_counts`.execute(real.db);
  try {
    expect({ counted: Number(rows[0]!.n), checkpoint: projector.status().checkpoint }).toEqual({ counted: 200, checkpoint: head });
  } finally {
    await projector.stop();
  await events.close();
  await node.close();
  await real.close();
  }
}, 60_000);

it('does not park an event whose transaction met a transient connection error (fails today)', async () => {
  const node: EmbeddedNode = await startEmbeddedNode({ port: 0 });
  const events = CairnEventStore.connect(node.connectionString);
  const real: ReadStore = await openReadStore(':memory:');
  let failures = 0;
  const store: ReadStore = {
    kind: real.kind,
    db: real.db,
    close: () => real.close(),
    ping: () => real.ping(), // the pool reconnects: the store is reachable
    transaction: async (fn) => {
      if (failures > 0) {
        failures -= 1;
        throw new Error('terminating connection due to administrator command');
      }
      return real.transaction(fn);
    },
  };
  const projector = new Projector(events, store, countingProjection(), { batchSize: 10_000, batchMs: 20 });
  await projector.start();
  const first = await appendViews(events, 100, 4);
  await until(async () => (await readCheckpoint(real.db, 'test-counts')) === first, 10_000, 'first batch');
  failures = 2; // the batch, then the first event of its isolation
  const head = await appendViews(events, 50, 4);
  await until(async () => (await readCheckpoint(real.db, 'test-counts')) === head, 10_000, 'checkpoint at head');
  const { rows } = await sql<{ n: number }>`select coalesce(sum(events), 0) as n from ops_test_counts`.execute(real.db);
  const parked = await sql<{ n: number }>`select count(*) as n from parked_events`.execute(real.db);
  try {
    expect({ counted: Number(rows[0]!.n), parked: Number(parked.rows[0]!.n) }).toEqual({ counted: 150, parked: 0 });
  } finally {
    await projector.stop();
  await events.close();
  await node.close();
  await real.close();
  }
}, 60_000);
