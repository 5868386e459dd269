/**
 * Rebuilds on the real embedded node into a SQLite file store and a PostgreSQL schema: a reader
 * loop sees only complete models (old, then new), the live projector keeps up during the rebuild
 * and after the switch, a crashed rebuild resumes from its shadow checkpoint, a concurrent rebuild
 * is refused, a poison event is parked and carried to the live store (or, `strict`, stops the
 * rebuild, which resumes after the fix), old tables are dropped or kept.
 */
import { existsSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { randomUUID } from 'crypto';
import { sql } from 'kysely';
import { startEmbeddedNode, type EmbeddedNode } from '@cairn/esdb-embedded';
import { CairnEventStore } from '@cairn/event-store';
import { openReadStore, readCheckpoint, type ReadStore } from '@cairn/read-models';
import type { Projection } from '../projection';
import { ProjectionEngine } from '../engine/engine';
import { listParked } from './parked';
import { RebuildJob, type LiveStore, type RebuildContext } from './rebuild';
import { appendViews, countingProjection, until, viewEvent } from './test-support';

const PG_URL = process.env.CAIRN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

interface Setup {
  live: LiveStore;
  shadowExists: () => Promise<boolean>;
  cleanup: () => Promise<void>;
}

const dialects: [string, () => Promise<Setup>][] = [
  [
    'SQLite file',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'cairn-rebuild-'));
      const url = `sqlite:${join(dir, 'read-models.sqlite')}`;
      const store = await openReadStore(url);
      return {
        live: { store, url },
        shadowExists: async () => existsSync(join(dir, 'read-models.sqlite.rebuild-test_counts.sqlite')),
        cleanup: async () => {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  ],
  [
    'PostgreSQL',
    async () => {
      const schema = `t_rebuild_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
      const store = await openReadStore(PG_URL, { schema });
      const shadow = `${schema}_rebuild_test_counts`;
      return {
        live: { store, url: PG_URL, schema },
        shadowExists: async () => (await sql<{ n: number }>`select count(*)::int as n from information_schema.schemata where schema_name = ${shadow}`.execute(store.db)).rows[0].n > 0,
        cleanup: async () => {
          await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(store.db);
          await sql`drop schema if exists ${sql.id(shadow)} cascade`.execute(store.db);
          await store.close();
        },
      };
    },
  ],
];

describe.each(dialects)('rebuild into %s', (dialect, open) => {
  let node: EmbeddedNode;
  let events: CairnEventStore;
  let setup: Setup;
  let store: ReadStore;
  let live: ProjectionEngine | null;

  beforeEach(async () => {
    node = await startEmbeddedNode({ port: 0 });
    events = CairnEventStore.connect(node.connectionString);
    setup = await open();
    store = setup.live.store;
    live = null;
  });
  afterEach(async () => {
    await live?.stop();
    await setup?.cleanup();
    await events?.close();
    await node?.close();
  });

  const totals = async () => {
    const { rows } = await sql<{ n: number; s: number }>`select count(*) as n, coalesce(sum(events), 0) as s from ops_test_counts`.execute(store.db);
    return `${Number(rows[0].n)}/${Number(rows[0].s)}`;
  };

  /** Builds the live table with a buggy v1 (every event counted twice), then runs the fixed v2 live. */
  async function buggyThenFixed(count: number): Promise<{ v2: Projection; last: bigint }> {
    const last = await appendViews(events, count, 30);
    const v1 = new ProjectionEngine(events, store, [countingProjection({ version: 1, weight: 2 })], { batchSize: 500, batchMs: 5 });
    await v1.start();
    expect(await v1.waitFor(last, 20_000)).toBe(true);
    await v1.stop();
    const v2 = countingProjection({ version: 2, weight: 1 });
    live = new ProjectionEngine(events, store, [v2], { batchSize: 500, batchMs: 5 });
    await live.start();
    return { v2, last };
  }

  const context = (): RebuildContext => ({
    events,
    live: setup.live,
    pauseLive: async (name) => live?.pause(name),
    resumeLive: async (name) => live?.resume(name),
  });

  it('switches atomically: a reader loop sees the old model, then the new one, never a half-built one; then the live projector keeps up', async () => {
    const { v2, last } = await buggyThenFixed(3000);
    expect(await totals()).toBe('30/6000');

    const seen: string[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        seen.push(await totals());
        await new Promise((r) => setImmediate(r));
      }
    })();
    const job = await RebuildJob.start(context(), [v2], { batchSize: 200 });
    const status = await job.done;
    await new Promise((r) => setTimeout(r, 20));
    reading = false;
    await reader;

    expect(status).toMatchObject({ phase: 'switched', done: 3000, error: null, keptTables: [] });
    expect(new Set(seen)).toEqual(new Set(['30/6000', '30/3000']));
    expect(seen.indexOf('30/3000')).toBeGreaterThan(seen.lastIndexOf('30/6000'));
    expect(await readCheckpoint(store.db, 'test-counts')).toBe(last);
    expect(await store.db.selectFrom('projection_versions').selectAll().execute()).toMatchObject([{ projection: 'test-counts', version: 2, job_id: 'test_counts' }]);
    expect(await store.db.selectFrom('rebuilds').select(['status', 'events_done']).execute()).toMatchObject([{ status: 'switched' }]);
    expect(await setup.shadowExists()).toBe(false);

    const more = await appendViews(events, 100, 30);
    expect(await live!.waitFor(more, 10_000)).toBe(true);
    expect(await totals()).toBe('30/3100');
  });

  if (dialect !== 'SQLite file') return;

  it('keeps up with live events appended during the rebuild: each counted exactly once', async () => {
    const { v2 } = await buggyThenFixed(2000);
    let appended = 0;
    const job = await RebuildJob.start(context(), [v2], {
      batchSize: 250,
      flushEvery: 250,
      afterBatch: async () => {
        if (appended < 5) {
          appended += 1;
          await events.append([viewEvent(`late${appended}`, '2026-06-01T10:00:00Z', '2026-06-01T10:00:00Z')]);
        }
      },
    });
    expect((await job.done).phase).toBe('switched');
    const tail = await appendViews(events, 10, 30);
    expect(await live!.waitFor(tail, 10_000)).toBe(true);
    expect(await totals()).toBe(`35/2015`);
  });

  it('resumes after a crash from the shadow checkpoint, and keeps the old table when asked', async () => {
    const { v2, last } = await buggyThenFixed(3000);
    let batches = 0;
    const crashed = await RebuildJob.start(context(), [v2], {
      batchSize: 200,
      flushEvery: 200,
      afterBatch: () => {
        batches += 1;
        if (batches === 5) throw new Error('simulated crash');
      },
    });
    const first = await crashed.done;
    expect(first).toMatchObject({ phase: 'failed', error: 'simulated crash', done: 1000 });
    expect(await setup.shadowExists()).toBe(true);
    expect(await totals()).toBe('30/6000');

    // Shadow writes that moved the rebuild on (afterBatch also runs after a pass's final flush when nothing was left to write).
    const resumedWrites = new Set<number>();
    const resumed = await RebuildJob.start(context(), [v2], { batchSize: 200, flushEvery: 200, keepOld: true, afterBatch: (s) => void resumedWrites.add(s.done) });
    const second = await resumed.done;
    expect(second).toMatchObject({ phase: 'switched', resumed: true, done: 3000 });
    expect(resumedWrites.size).toBe(10);
    expect(await totals()).toBe('30/3000');
    expect(await readCheckpoint(store.db, 'test-counts')).toBe(last);
    expect(second.keptTables).toHaveLength(1);
    const { rows } = await sql<{ s: number }>`select sum(events) as s from ${sql.id(second.keptTables[0])}`.execute(store.db);
    expect(Number(rows[0].s)).toBe(6000);
  });

  it('refuses a second concurrent rebuild of the same projection, here and from another process', async () => {
    const { v2 } = await buggyThenFixed(1000);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const job = await RebuildJob.start(context(), [v2], { batchSize: 100, flushEvery: 100, afterBatch: () => gate });
    await expect(RebuildJob.start(context(), [v2])).rejects.toMatchObject({ code: 'CAIRN.OPERATION_CONFLICT' });
    release();
    expect((await job.done).phase).toBe('switched');

    // Another process's job, heartbeat fresh: refused; heartbeat stale: taken over.
    const other = { projections: 'test-counts', shadow: 'x', keep_old: 0, finished_at: null, error: null, events_done: 0, position: null, head: null };
    await store.db.insertInto('rebuilds').values({ ...other, job_id: 'elsewhere', status: 'building', started_at: new Date().toISOString(), updated_at: new Date().toISOString() }).execute();
    await expect(RebuildJob.start(context(), [v2])).rejects.toMatchObject({ code: 'CAIRN.OPERATION_CONFLICT' });
    await store.db.updateTable('rebuilds').set({ updated_at: '2020-01-01T00:00:00.000Z' }).where('job_id', '=', 'elsewhere').execute();
    expect((await (await RebuildJob.start(context(), [v2])).done).phase).toBe('switched');
    expect((await store.db.selectFrom('rebuilds').select('status').where('job_id', '=', 'elsewhere').executeTakeFirstOrThrow()).status).toBe('interrupted');
  });

  it('parks a poison event, reports it, carries it to the live parked events and switches', async () => {
    await buggyThenFixed(500);
    const poison = viewEvent('p', '2026-06-01T10:00:00Z', '2026-06-01T10:00:00Z', 'poison');
    await events.append([poison]);
    const last = await appendViews(events, 300, 30);
    expect(await live!.waitFor(last, 10_000)).toBe(true);
    const broken = countingProjection({ version: 2, poisonous: { on: true } });
    const status = await (await RebuildJob.start(context(), [broken], { batchSize: 200 })).done;
    expect(status).toMatchObject({ phase: 'switched', error: null, failedEvent: null, parked: { 'test-counts': 1 } });
    expect(status.parkedEvents).toEqual([expect.objectContaining({ projection: 'test-counts', id: poison.id, type: 'cairn.view.v1', error: expect.stringContaining('cannot fold product poison') })]);
    // The rebuilt model lacks only the poison event; the live parked events are the rebuild's.
    expect(await totals()).toBe('30/800');
    expect(await readCheckpoint(store.db, 'test-counts')).toBe(last);
    expect(await listParked(store.db)).toMatchObject([{ projection: 'test-counts', projectionVersion: 2, eventId: poison.id }]);
    // The live projection (which can fold it) retries it: counted once.
    expect(await live!.retryParked('test-counts')).toMatchObject({ retried: 1, stillFailing: [] });
    expect(await totals()).toBe('31/801');
    expect(await listParked(store.db)).toHaveLength(0);
  });

  it('strict: stops on a poison event with the event and the error, leaving the live model serving; after a fix the same rebuild resumes', async () => {
    const { last: beforePoison } = await buggyThenFixed(500);
    const poison = viewEvent('p', '2026-06-01T10:00:00Z', '2026-06-01T10:00:00Z', 'poison');
    await events.append([poison]);
    const last = await appendViews(events, 300, 30);
    const poisonous = { on: true };
    const broken = countingProjection({ version: 2, poisonous });
    const status = await (await RebuildJob.start(context(), [broken], { batchSize: 200, strict: true })).done;
    expect(status.phase).toBe('failed');
    expect(status.failedEvent).toMatchObject({ projection: 'test-counts', id: poison.id, type: 'cairn.view.v1' });
    expect(status.error).toContain('cannot fold product poison');
    expect(status.parked).toEqual({ 'test-counts': 0 });
    expect(status.parkedEvents).toEqual([]);
    await until(async () => (await totals()) === '31/1301', 10_000, 'live projector to keep up');
    expect(await setup.shadowExists()).toBe(true);
    // The shadow holds every event before the poison, and stops there.
    const shadow = await openReadStore(`${setup.live.url}.rebuild-test_counts.sqlite`);
    try {
      expect(await readCheckpoint(shadow.db, 'test-counts')).toBe(beforePoison);
    } finally {
      await shadow.close();
    }

    poisonous.on = false;
    const fixed = await (await RebuildJob.start(context(), [broken], { batchSize: 200, strict: true })).done;
    expect(fixed).toMatchObject({ phase: 'switched', resumed: true, error: null, failedEvent: null });
    expect(await totals()).toBe('31/801');
    expect(await readCheckpoint(store.db, 'test-counts')).toBe(last);
    expect(await listParked(store.db)).toHaveLength(0);
  });
});
