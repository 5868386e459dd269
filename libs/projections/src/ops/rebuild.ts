/**
 * Rebuilds without downtime. A rebuild job rebuilds a set of projections (one, or all) together:
 *
 * 1. builds them from the start of the log into a SHADOW store (a sibling SQLite file, or a
 *    PostgreSQL schema): one long read of `$all`, folded in memory by the shared fold core
 *    (`engine/folder.ts`), written in bulk only when the memory budget is reached, every
 *    `flushEvery` events and at the end, each write with the shadow checkpoints in one shadow
 *    transaction: the shadow's checkpoints are the rebuild's progress, so a rebuild killed at any
 *    instant resumes from its last write; meanwhile the live engine keeps serving live events;
 * 2. when the shadow has caught up, pauses the live projectors of those projections, folds the
 *    last events into the shadow, and SWITCHES in one live transaction: each table the projections
 *    declare is emptied and refilled from the shadow by the database itself (SQLite: the shadow
 *    file ATTACHed to the writer connection; PostgreSQL: the shadow schema), never through
 *    JavaScript, and their checkpoints and parked events are set to the shadow's. Readers see the
 *    old model until the commit and the new one after it, never a half-built one (PostgreSQL:
 *    MVCC; SQLite: queries read on their own connection in WAL mode);
 * 3. resumes the live projectors from the new checkpoints and drops the shadow. The old rows are
 *    dropped too, or kept as `<table>__old_<stamp>` tables when asked.
 *
 * A poison event is parked, as live does, and the rebuild carries on (its status counts them; the
 * switch carries them to the live `parked_events`); with `strict` it stops the rebuild instead
 * (state `failed`, with the event and the error), and after a fix the same rebuild resumes. A second rebuild of a projection already being
 * rebuilt is refused (`CAIRN.OPERATION_CONFLICT`), in this process and across processes (the
 * `rebuilds` row and its heartbeat; a stale heartbeat means the runner died and the job may resume).
 */
import { createHash } from 'crypto';
import { existsSync, rmSync } from 'fs';
import { hostname, tmpdir } from 'os';
import { join } from 'path';
import { sql, type Kysely } from 'kysely';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import type { CairnEventStore } from '@cairn/event-store';
import { openReadStore, parseReadStoreUrl, readCheckpoint, type ReadModelSchema, type ReadStore } from '@cairn/read-models';
import { CheckpointMoved, Folder, type PoisonReport } from '../engine/folder';
import type { Projection } from '../projection';
import { Progress, headPosition, readHistory } from './history';
import { errorMessage } from './parked';
import { tableShape } from './tables';

export type RebuildPhase = 'building' | 'switching' | 'switched' | 'failed' | 'interrupted';

export interface RebuildStatus {
  readonly id: string;
  readonly projections: { name: string; version: number }[];
  readonly phase: RebuildPhase;
  readonly done: number;
  readonly total: number;
  readonly rate: number;
  readonly etaSeconds: number | null;
  readonly keepOld: boolean;
  readonly resumed: boolean;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly error: string | null;
  readonly failedEvent: { projection: string; id: string; position: string; type: string; streamId: string } | null;
  readonly keptTables: string[];
  /** Events parked by this rebuild (poison), per projection, and the first few of them. */
  readonly parked: Record<string, number>;
  readonly parkedEvents: (PoisonReport & { projection: string; error: string })[];
  /** Where the time went: folding in memory, writing the shadow, the switch (ms). */
  readonly timings: { foldMs: number; writeMs: number; switchMs: number };
}

/** Where the live read store is, so the shadow can be put beside it. */
export interface LiveStore {
  readonly store: ReadStore;
  readonly url: string;
  /** PostgreSQL schema of the live store, when not the default. */
  readonly schema?: string;
}

export interface RebuildContext {
  readonly events: CairnEventStore;
  readonly live: LiveStore;
  /** Pauses this process's live projector of a projection (drains its batch); no-op when it runs elsewhere. */
  readonly pauseLive?: (name: string) => Promise<void>;
  readonly resumeLive?: (name: string) => Promise<void>;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

export interface RebuildOptions {
  readonly keepOld?: boolean;
  /** Events read and folded per step (default 5,000). */
  readonly batchSize?: number;
  /**
   * Write every projection's state to the shadow at least every this many events (default
   * 1,000,000): what a crash can cost. Facts are written all along (by `stagingMb`); a stateful
   * projection's documents are written whole at each such write (100k profiles are ~300 MB), so
   * a rebuild of a million events writes them once, at the end, unless the memory budget says otherwise.
   */
  readonly flushEvery?: number;
  /** Fold state kept in memory before a write and an eviction (MB, default 256). */
  readonly memoryBudgetMb?: number;
  /** A projection's rows waiting for the write (facts) are written past this size (MB, default 16). */
  readonly stagingMb?: number;
  /** Stop at the first poison event instead of parking it. */
  readonly strict?: boolean;
  /** A running job whose heartbeat is older than this is considered dead (resumable). */
  readonly staleMs?: number;
  /** Test hook: called after each committed shadow write (throw to simulate a crash). */
  readonly afterBatch?: (status: RebuildStatus) => Promise<void> | void;
  readonly onProgress?: (status: RebuildStatus) => void;
}

const HEARTBEAT_MS = 1000;
const DEFAULT_STALE_MS = 15_000;
/** Projections being rebuilt by this process. */
const active = new Set<string>();

export function rebuildJobId(names: readonly string[]): string {
  const base = [...names].sort().join('_').toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return base.length <= 40 ? base : `${base.slice(0, 28)}_${createHash('sha256').update(base).digest('hex').slice(0, 11)}`;
}

class Interrupted extends Error {
  constructor() {
    super('interrupted (shutdown); the next rebuild of the same projections resumes from here');
  }
}

export class RebuildJob {
  readonly id: string;
  readonly startedAt = new Date().toISOString();
  private phase: RebuildPhase = 'building';
  private finishedAt: string | null = null;
  private error: string | null = null;
  private failedEvent: RebuildStatus['failedEvent'] = null;
  private progress: Progress | null = null;
  private position: bigint | null = null;
  private resumed = false;
  private keptTables: string[] = [];
  private readonly parkedEvents: (PoisonReport & { projection: string; error: string })[] = [];
  private lastBeat = 0;
  private aborting = false;
  private folder: Folder | null = null;
  private readonly timings = { foldMs: 0, writeMs: 0, switchMs: 0 };
  /** Settles when the job ends (switched or failed); never rejects. */
  readonly done: Promise<RebuildStatus>;

  private constructor(
    private readonly ctx: RebuildContext,
    readonly projections: readonly Projection[],
    private readonly opts: RebuildOptions,
    private readonly shadowName: string,
  ) {
    this.id = rebuildJobId(projections.map((p) => p.name));
    this.done = Promise.resolve().then(() => this.run());
  }

  /** Starts (or resumes) a rebuild; refuses when one of the projections is already being rebuilt. */
  static async start(ctx: RebuildContext, projections: readonly Projection[], opts: RebuildOptions = {}): Promise<RebuildJob> {
    if (projections.length === 0) throw new CairnError(ERROR_CODES.VALIDATION, 'nothing to rebuild', { fields: [{ field: 'projections', message: 'name at least one projection' }] });
    const names = projections.map((p) => p.name);
    const busy = names.filter((n) => active.has(n));
    if (busy.length > 0) throw conflict(busy, 'in this process');
    for (const n of names) active.add(n);
    try {
      const id = rebuildJobId(names);
      const shadow = shadowLocation(ctx.live, id);
      await acquire(ctx.live.store, id, names, shadow, opts);
      const job = new RebuildJob(ctx, projections, opts, shadow);
      void job.done.finally(() => {
        for (const n of names) active.delete(n);
      });
      return job;
    } catch (err) {
      for (const n of names) active.delete(n);
      throw err;
    }
  }

  /** Stops at the next batch boundary (phase `interrupted`): the shadow stays, a later start resumes. */
  abort(): Promise<RebuildStatus> {
    this.aborting = true;
    return this.done;
  }

  status(): RebuildStatus {
    const snap = this.progress?.snapshot(this.position) ?? { done: 0, total: 0, rate: 0, etaSeconds: null };
    return {
      id: this.id,
      projections: this.projections.map((p) => ({ name: p.name, version: p.version })),
      phase: this.phase,
      done: snap.done,
      total: this.phase === 'switched' ? snap.done : snap.total,
      rate: snap.rate,
      etaSeconds: this.phase === 'switched' ? 0 : snap.etaSeconds,
      keepOld: this.opts.keepOld ?? false,
      resumed: this.resumed,
      startedAt: this.startedAt,
      finishedAt: this.finishedAt,
      error: this.error,
      failedEvent: this.failedEvent,
      keptTables: this.keptTables,
      parked: Object.fromEntries((this.folder?.slots ?? []).map((sl) => [sl.projection.name, sl.parked])),
      parkedEvents: this.parkedEvents.slice(0, 20),
      timings: { ...this.timings },
    };
  }

  private log(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}): void {
    this.ctx.log?.(level, msg, { rebuild: this.id, ...fields });
  }

  private async run(): Promise<RebuildStatus> {
    let shadow: ReadStore | null = null;
    try {
      shadow = await openShadow(this.ctx.live, this.shadowName);
      for (const p of this.projections) await p.setup?.(shadow.db);
      await dropSecondaryIndexes(shadow, tablesOf(this.projections), this.shadowName);
      const folder = new Folder(shadow, this.projections, {
        onPoison: this.opts.strict ? 'stop' : 'park',
        log: (level, msg, fields) => this.log(level, msg, fields),
        onParked: (projection, event, error) => this.parkedEvents.push({ projection, error, ...event }),
      });
      this.folder = folder;
      let eventsDone = 0;
      for (const slot of folder.slots) {
        slot.checkpoint = await readCheckpoint(shadow.db, slot.projection.name);
        slot.reset();
        const row = await shadow.db.selectFrom('checkpoints').select('events_processed').where('projection', '=', slot.projection.name).executeTakeFirst();
        eventsDone = Math.max(eventsDone, Number(row?.events_processed ?? 0));
      }
      this.resumed = folder.slots.some((sl) => sl.checkpoint !== null);
      if (this.resumed) this.log('info', 'resuming rebuild from the shadow checkpoints', { done: eventsDone });
      const head = (await headPosition(this.ctx.events)) ?? 0n;
      this.position = folder.resumeFrom() ?? null;
      // The estimate of the total extrapolates from what is left after the resume point.
      this.progress = new Progress(this.position ?? 0n, head, eventsDone);

      // Build until a pass over the log finds little left: the shadow is close to live.
      const batchSize = this.opts.batchSize ?? 5000;
      for (;;) {
        const n = await this.pass(folder, batchSize);
        if (n < batchSize) break;
      }

      // Switch: the live projections pause, the shadow takes the last events, one transaction swaps.
      this.phase = 'switching';
      this.emit();
      const paused: string[] = [];
      try {
        for (const p of this.projections) {
          await this.ctx.pauseLive?.(p.name);
          paused.push(p.name);
        }
        await this.pass(folder, batchSize);
        const failed = folder.slots.find((sl) => sl.failed);
        if (failed) throw new CairnError(ERROR_CODES.VALIDATION, failed.lastError ?? `projection ${failed.projection.name} stopped`);
        const t0 = performance.now();
        this.keptTables = await switchToShadow(this.ctx.live.store, shadow, this.shadowName, this.projections, this.id, this.opts.keepOld ?? false);
        this.timings.switchMs += Math.round(performance.now() - t0);
      } finally {
        for (const name of paused) await this.ctx.resumeLive?.(name);
      }
      this.phase = 'switched';
      this.finishedAt = new Date().toISOString();
      this.log('info', 'rebuild switched', { done: this.status().done, keptTables: this.keptTables, parked: this.status().parked });
      await shadow.close();
      shadow = null;
      // Switched is switched: a shadow that cannot be dropped is only logged.
      await dropShadow(this.ctx.live, this.shadowName).catch((err) =>
        this.log('warn', 'could not drop the shadow; drop it by hand', { shadow: this.shadowName, error: errorMessage(err) }),
      );
    } catch (err) {
      this.phase = err instanceof Interrupted ? 'interrupted' : 'failed';
      this.finishedAt = new Date().toISOString();
      this.error = errorMessage(err);
      const failed = this.folder?.slots.find((sl) => sl.failed);
      if (failed?.failedEvent) this.failedEvent = { projection: failed.projection.name, ...failed.failedEvent };
      this.log('error', 'rebuild failed', { error: this.error });
    } finally {
      await shadow?.close().catch(() => undefined);
      await this.record().catch((err) => this.log('warn', 'could not record the rebuild outcome', { error: errorMessage(err) }));
      this.emit();
    }
    return this.status();
  }

  /**
   * One read from the lowest shadow checkpoint to the current end of the log, folded in memory and
   * written when the budget or `flushEvery` says so, and at the end. Returns the events read.
   */
  private async pass(folder: Folder, batchSize: number): Promise<number> {
    const budget = (this.opts.memoryBudgetMb ?? 256) * 1024 * 1024;
    const staging = (this.opts.stagingMb ?? 16) * 1024 * 1024;
    const flushEvery = this.opts.flushEvery ?? 1_000_000;
    let read = 0;
    let sinceFlush = 0;
    const flush = async () => {
      if (!folder.pending) return;
      const t0 = performance.now();
      await folder.flush();
      this.timings.writeMs += Math.round(performance.now() - t0);
      sinceFlush = 0;
      if (folder.memory() > budget) folder.evict();
      await this.heartbeat();
      this.emit();
      await this.opts.afterBatch?.(this.status());
    };
    for (;;) {
      const from = folder.resumeFrom();
      if (from === undefined) return read;
      try {
        // One batch of read-ahead: the next batch streams in while this one is folded.
        const source = readHistory(this.ctx.events, from, batchSize);
        let ahead = source.next();
        try {
          for (;;) {
            const step = await ahead;
            if (step.done) break;
            const batch = step.value;
            ahead = source.next();
            // A failure below leaves `ahead` unawaited: mark it handled (the finally closes the read).
            ahead.catch(() => undefined);
            if (this.aborting && this.phase === 'building') throw new Interrupted();
            read += batch.length;
            const last = batch[batch.length - 1]!.position;
            // Progress counts what is folded (a write below reports it, so it must be current).
            if (this.progress) {
              this.progress.done += batch.length;
              if (last > this.progress.head) this.progress.head = last;
            }
            this.position = last;
            const steps = folder.isolating ? batch.map((e) => [e]) : [batch];
            for (const part of steps) {
              const t0 = performance.now();
              await folder.fold(part);
              this.timings.foldMs += Math.round(performance.now() - t0);
              sinceFlush += part.length;
              if (folder.isolating || sinceFlush >= flushEvery) await flush();
              else {
                // Staged output is written by size, per projection: memory stays flat whatever the log's length.
                const t1 = performance.now();
                const wrote = await folder.flushStaged(staging);
                if (folder.memory() > budget) await folder.relieve(budget);
                this.timings.writeMs += Math.round(performance.now() - t1);
                if (wrote) {
                  await this.heartbeat();
                  this.emit();
                  await this.opts.afterBatch?.(this.status());
                }
              }
            }
            if (this.opts.strict && folder.slots.some((sl) => sl.failed)) break;
            // When the reader is ahead, every await above resolves at once and the whole rebuild would
            // run as one chain of microtasks: timers and I/O (the API's requests, in the same thread)
            // would wait for its end. Once per batch, let them run.
            await new Promise((r) => setImmediate(r));
          }
        } finally {
          // Ends the read (after the pending read-ahead, if any) instead of leaving the gRPC call open.
          await ahead.then(
            () => source.return(undefined),
            () => undefined,
          );
        }
        await flush();
        return read;
      } catch (err) {
        if (!(err instanceof CheckpointMoved)) throw err;
        // The shadow refused a projection's batch: read again from the checkpoints, that projection one event at a time.
        for (const sl of folder.slots) sl.reset();
      }
    }
  }

  private emit(): void {
    this.opts.onProgress?.(this.status());
  }

  private async heartbeat(): Promise<void> {
    const now = Date.now();
    if (now - this.lastBeat < HEARTBEAT_MS) return;
    this.lastBeat = now;
    const s = this.status();
    await this.ctx.live.store.transaction((trx) =>
      trx
        .updateTable('rebuilds')
        .set({ updated_at: new Date(now).toISOString(), events_done: s.done, position: this.position?.toString() ?? null, head: this.progress?.head.toString() ?? null })
        .where('job_id', '=', this.id)
        .execute(),
    );
  }

  private async record(): Promise<void> {
    const s = this.status();
    await this.ctx.live.store.transaction((trx) =>
      trx
        .updateTable('rebuilds')
        .set({ status: s.phase, updated_at: new Date().toISOString(), finished_at: s.finishedAt, error: s.error, events_done: s.done, position: this.position?.toString() ?? null })
        .where('job_id', '=', this.id)
        .execute(),
    );
  }
}

function conflict(names: readonly string[], where: string): CairnError {
  return new CairnError(ERROR_CODES.OPERATION_CONFLICT, `a rebuild of ${names.join(', ')} is already running ${where}`, { projections: names });
}

/** Registers the job in the live store; refuses when a live (fresh-heartbeat) job overlaps. */
async function acquire(store: ReadStore, id: string, names: readonly string[], shadow: string, opts: RebuildOptions): Promise<void> {
  const staleBefore = new Date(Date.now() - (opts.staleMs ?? DEFAULT_STALE_MS)).toISOString();
  const now = new Date().toISOString();
  await store.transaction(async (trx) => {
    if (store.kind === 'postgres') await sql`select pg_advisory_xact_lock(hashtext('cairn.rebuilds'))`.execute(trx);
    const running = await trx.selectFrom('rebuilds').selectAll().where('status', 'in', ['building', 'switching']).execute();
    for (const r of running) {
      const overlap = r.projections.split(',').filter((n) => names.includes(n));
      if (overlap.length === 0) continue;
      if (r.updated_at >= staleBefore && ownerAlive(r.owner)) throw conflict(overlap, `(job ${r.job_id}, heartbeat ${r.updated_at})`);
      if (r.job_id !== id) await trx.updateTable('rebuilds').set({ status: 'interrupted', finished_at: now }).where('job_id', '=', r.job_id).execute();
    }
    await trx
      .insertInto('rebuilds')
      .values({ job_id: id, projections: names.join(','), status: 'building', shadow, keep_old: opts.keepOld ? 1 : 0, started_at: now, updated_at: now, finished_at: null, error: null, events_done: 0, position: null, head: null, owner: OWNER })
      .onConflict((oc) => oc.column('job_id').doUpdateSet({ status: 'building', shadow, keep_old: opts.keepOld ? 1 : 0, updated_at: now, finished_at: null, error: null, owner: OWNER }))
      .execute();
  });
}

const OWNER = `${hostname()}:${process.pid}`;

/**
 * Whether the process that registered a running job may still be running it. On this host a dead
 * pid (or this very process, which would have the job in `active`) means no; on another host only
 * the heartbeat can tell.
 */
function ownerAlive(owner: string | null): boolean {
  if (owner === null) return true;
  const i = owner.lastIndexOf(':');
  const host = owner.slice(0, i);
  const pid = Number(owner.slice(i + 1));
  if (host !== hostname() || !Number.isSafeInteger(pid)) return true;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function shadowLocation(live: LiveStore, id: string): string {
  if (live.store.kind === 'postgres') return `${live.schema ?? 'cairn'}_rebuild_${id}`.slice(0, 63);
  const target = parseReadStoreUrl(live.url);
  if (target.kind === 'sqlite' && target.path !== ':memory:') return `${target.path}.rebuild-${id}.sqlite`;
  // A live store in memory (tests) gets a shadow file of its own, so the switch can attach it.
  return join(tmpdir(), `cairn-rebuild-${process.pid}-${id}.sqlite`);
}

async function openShadow(live: LiveStore, name: string): Promise<ReadStore> {
  if (live.store.kind === 'postgres') {
    const shadow = await openReadStore(live.url, { schema: name });
    // UNLOGGED: the shadow's writes skip the WAL (the switch copies into the logged live tables).
    // Its checkpoints are unlogged with its rows, so a PostgreSQL crash empties both together and
    // the rebuild starts over; the migration bookkeeping stays logged (the tables still exist).
    const { rows } = await sql<{ name: string }>`select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = ${name} and c.relkind = 'r' and c.relpersistence = 'p' and c.relname not like 'kysely_%'`.execute(shadow.db);
    for (const r of rows) await sql`alter table ${sql.id(name, r.name)} set unlogged`.execute(shadow.db);
    return shadow;
  }
  const shadow = await openReadStore(`sqlite:${name}`);
  // A shadow is rebuilt from the log, never the only copy of anything: no fsync per commit (a
  // process crash loses nothing, a power loss at worst a recent write, and WAL keeps the file
  // consistent), and a page cache large enough that bulk inserts into the keys' B-trees stay in memory.
  await shadow.onWriter?.('pragma synchronous = off');
  await shadow.onWriter?.('pragma cache_size = -65536');
  return shadow;
}

async function dropShadow(live: LiveStore, name: string): Promise<void> {
  if (live.store.kind === 'postgres') {
    await sql`drop schema if exists ${sql.id(name)} cascade`.execute(live.store.db);
    return;
  }
  for (const f of [name, `${name}-wal`, `${name}-shm`]) if (existsSync(f)) rmSync(f, { force: true });
}

/**
 * One live transaction: for every table the projections declare, replace the live rows with the
 * shadow's, copied by the database itself (keeping the old ones as a renamed copy when asked), and
 * set the checkpoints, parked events and recorded versions. Returns the names of the kept tables.
 */
async function switchToShadow(live: ReadStore, shadow: ReadStore, shadowName: string, projections: readonly Projection[], jobId: string, keepOld: boolean): Promise<string[]> {
  const names = projections.map((p) => p.name);
  const tables = [...new Set(projections.flatMap((p) => p.tables.map((t) => t.table)))].sort();
  const columns = new Map<string, readonly string[]>();
  for (const t of tables) columns.set(t, (await tableShape(shadow.db, t, shadow.kind)).columns);
  const cps = await shadow.db.selectFrom('checkpoints').selectAll().where('projection', 'in', names).execute();
  const stamp = new Date().toISOString().replace(/[-:TZ.]/g, '').slice(0, 14);
  const kept: string[] = [];
  // SQLite: the shadow file is attached to the writer connection (outside a transaction, as SQLite
  // requires), so each table is copied by one INSERT … SELECT. Readers are not blocked meanwhile:
  // they read the last committed state on their own connection (WAL) until the switch commits.
  const sqlite = live.kind === 'sqlite';
  if (sqlite) {
    if (!live.onWriter) throw new Error('the SQLite read store cannot attach a shadow');
    await shadow.close();
    await live.onWriter('attach database ? as cairn_shadow', [shadowName]);
  }
  const from = (t: string) => (sqlite ? sql`${sql.id('cairn_shadow')}.${sql.id(t)}` : sql.id(shadowName, t));
  // SQLite: the secondary indexes are dropped, the rows copied, the indexes built again (one sort
  // each) in the switch's transaction, instead of a million random index inserts.
  const indexes = sqlite ? await secondaryIndexes(live, tables) : [];
  try {
    await live.transaction(async (trx) => {
      for (const t of tables) {
        const cols = sql.join(columns.get(t)!.map((c) => sql.id(c)));
        if (keepOld) {
          const copy = `${t}__old_${stamp}`;
          await sql`create table ${sql.id(copy)} as select * from ${sql.id(t)}`.execute(trx);
          kept.push(copy);
        }
        await sql`delete from ${sql.id(t)}`.execute(trx);
        const mine = indexes.filter((i) => i.table === t);
        for (const i of mine) await sql`drop index ${sql.id(i.name)}`.execute(trx);
        await sql`insert into ${sql.id(t)} (${cols}) select ${cols} from ${from(t)}`.execute(trx);
        for (const i of mine) await sql.raw(i.sql).execute(trx);
      }
      // The rebuild decided again which events are poison for these projections.
      await trx.deleteFrom('parked_events').where('projection', 'in', names).execute();
      const parkedCols = sql.join(['projection', 'event_id', 'position', 'stream_id', 'event_type', 'event', 'error', 'projection_version', 'parked_at', 'attempts'].map((c) => sql.id(c)));
      await sql`insert into parked_events (${parkedCols}) select ${parkedCols} from ${from('parked_events')} where projection in (${sql.join(names)})`.execute(trx);
      for (const c of cps) {
        await trx
          .insertInto('checkpoints')
          .values({ projection: c.projection, position: c.position, events_processed: Number(c.events_processed), updated_at: new Date().toISOString() })
          .onConflict((oc) => oc.column('projection').doUpdateSet({ position: c.position, events_processed: Number(c.events_processed), updated_at: new Date().toISOString() }))
          .execute();
      }
      for (const p of projections) {
        await trx
          .insertInto('projection_versions')
          .values({ projection: p.name, version: p.version, built_at: new Date().toISOString(), job_id: jobId })
          .onConflict((oc) => oc.column('projection').doUpdateSet({ version: p.version, built_at: new Date().toISOString(), job_id: jobId }))
          .execute();
      }
      await trx.updateTable('rebuilds').set({ status: 'switched', updated_at: new Date().toISOString(), finished_at: new Date().toISOString() }).where('job_id', '=', jobId).execute();
    });
  } finally {
    if (sqlite) await live.onWriter?.('detach database cairn_shadow').catch(() => undefined);
  }
  return kept;
}

function tablesOf(projections: readonly Projection[]): string[] {
  return [...new Set(projections.flatMap((p) => p.tables.map((t) => t.table)))].sort();
}

/** PostgreSQL (a shadow schema): the non-unique indexes of these tables, which no fold reads by. */
async function pgSecondaryIndexes(store: ReadStore, schema: string, tables: readonly string[]): Promise<string[]> {
  if (tables.length === 0) return [];
  const { rows } = await sql<{ name: string }>`select indexname as name from pg_indexes where schemaname = ${schema} and tablename in (${sql.join([...tables])}) and indexdef not like 'CREATE UNIQUE%' order by indexname`.execute(store.db);
  return rows.map((r) => r.name);
}

/** SQLite: the indexes of these tables other than their primary keys, with the SQL that made them. */
export async function secondaryIndexes(store: ReadStore, tables: readonly string[]): Promise<{ name: string; table: string; sql: string }[]> {
  if (store.kind !== 'sqlite' || tables.length === 0) return [];
  const { rows } = await sql<{ name: string; table: string; sql: string }>`select name, tbl_name as "table", sql from sqlite_master where type = 'index' and sql is not null and tbl_name in (${sql.join([...tables])}) order by name`.execute(store.db);
  return rows;
}

/**
 * A shadow is built without secondary indexes (only the primary keys its folds read by): the
 * live store has its own (SQLite: the switch builds them again, one sort each). Idempotent, so a resumed rebuild finds them gone.
 */
async function dropSecondaryIndexes(shadow: ReadStore, tables: readonly string[], schema: string): Promise<void> {
  if (shadow.kind === 'postgres') {
    for (const i of await pgSecondaryIndexes(shadow, schema, tables)) await sql`drop index if exists ${sql.id(schema, i)}`.execute(shadow.db);
    return;
  }
  for (const i of await secondaryIndexes(shadow, tables)) await shadow.onWriter?.(`drop index if exists "${i.name.replace(/"/g, '""')}"`);
}

/** The last recorded rebuild jobs (newest first), from the live store. */
export async function listRebuilds(db: Kysely<ReadModelSchema>, limit = 50) {
  return db.selectFrom('rebuilds').selectAll().orderBy('started_at', 'desc').limit(limit).execute();
}

export async function builtVersions(db: Kysely<ReadModelSchema>): Promise<Map<string, number>> {
  const rows = await db.selectFrom('projection_versions').selectAll().execute();
  return new Map(rows.map((r) => [r.projection, Number(r.version)]));
}
