/**
 * Rebuilds without downtime. A rebuild job rebuilds a set of projections (one, or all) together:
 *
 * 1. builds them from the start of the log into a SHADOW store (a sibling SQLite file, or a
 *    PostgreSQL schema), one long read of `$all`, each batch and each projection's shadow
 *    checkpoint in one shadow transaction: the shadow's checkpoints are the rebuild's progress, so a
 *    rebuild killed at any instant resumes where it stopped;
 *    meanwhile the live projectors keep serving and keep up with live events;
 * 2. when the shadow has caught up, pauses the live projectors of those projections, folds the
 *    last events into the shadow, and SWITCHES in one live transaction: each table the projections
 *    wrote (tracked from their queries) is emptied and refilled from the shadow, and their
 *    checkpoints are set to the shadow's. Readers see the old model until the commit and the new
 *    one after it, never a half-built one (PostgreSQL: MVCC; SQLite: queries read on their own
 *    connection in WAL mode, which sees the last committed state);
 * 3. resumes the live projectors from the new checkpoints and drops the shadow. The old rows are
 *    dropped too, or kept as `<table>__old_<stamp>` tables when asked.
 *
 * A poison event stops a rebuild (state `failed`, with the event and the error); after a fix, the
 * same rebuild resumes from the last good batch. A second rebuild of a projection already being
 * rebuilt is refused (`CAIRN.OPERATION_CONFLICT`), in this process and across processes (the
 * `rebuilds` row and its heartbeat; a stale heartbeat means the runner died and the job may resume).
 */
import { createHash } from 'crypto';
import { existsSync, rmSync } from 'fs';
import { hostname } from 'os';
import { CompiledQuery, sql, type Kysely, type RawBuilder } from 'kysely';
import { CairnError, ERROR_CODES, type RecordedCairnEvent } from '@cairn/domain';
import type { CairnEventStore } from '@cairn/event-store';
import { openReadStore, parseReadStoreUrl, readCheckpoint, writeCheckpoint, type ReadModelSchema, type ReadStore } from '@cairn/read-models';
import type { Projection } from '../projection';
import { Progress, headPosition, readHistory } from './history';
import { errorMessage } from './parked';
import { WrittenTables, tableShape } from './tables';

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
  /** Milliseconds spent in each projection's applyBatch (where a rebuild's time goes). */
  readonly applyMs: Record<string, number>;
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
  readonly batchSize?: number;
  /** A running job whose heartbeat is older than this is considered dead (resumable). */
  readonly staleMs?: number;
  /** Test hook: called after each committed shadow batch (throw to simulate a crash). */
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

class PoisonInRebuild extends Error {
  constructor(
    readonly projection: Projection,
    readonly event: RecordedCairnEvent,
    readonly reason: string,
  ) {
    super(`projection ${projection.name} v${projection.version} threw on event ${event.id} at ${event.position} (${event.type}): ${reason}`);
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
  private lastBeat = 0;
  private aborting = false;
  private readonly applyMs: Record<string, number> = {};
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
      applyMs: { ...this.applyMs },
    };
  }

  private log(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}): void {
    this.ctx.log?.(level, msg, { rebuild: this.id, ...fields });
  }

  private async run(): Promise<RebuildStatus> {
    let shadow: ReadStore | null = null;
    try {
      shadow = await openShadow(this.ctx.live, this.shadowName);
      const checkpoints = new Map<string, bigint | null>();
      let eventsDone = 0;
      for (const p of this.projections) {
        checkpoints.set(p.name, await readCheckpoint(shadow.db, p.name));
        const row = await shadow.db.selectFrom('checkpoints').select('events_processed').where('projection', '=', p.name).executeTakeFirst();
        eventsDone = Math.max(eventsDone, Number(row?.events_processed ?? 0));
      }
      this.resumed = [...checkpoints.values()].some((c) => c !== null);
      if (this.resumed) this.log('info', 'resuming rebuild from the shadow checkpoints', { done: eventsDone });
      const written = new Map(this.projections.map((p) => [p.name, new WrittenTables()]));
      const head = (await headPosition(this.ctx.events)) ?? 0n;
      this.position = minCheckpoint(checkpoints);
      // The estimate of the total extrapolates from what is left after the resume point.
      this.progress = new Progress(this.position ?? 0n, head, eventsDone);

      // Build until a pass over the log finds little left: the shadow is close to live.
      const batchSize = this.opts.batchSize ?? 1000;
      for (;;) {
        const n = await this.pass(shadow, checkpoints, written, batchSize);
        if (n < batchSize) break;
      }

      // Switch: the live projectors pause, the shadow takes the last events, one transaction swaps.
      this.phase = 'switching';
      this.emit();
      const paused: string[] = [];
      try {
        for (const p of this.projections) {
          await this.ctx.pauseLive?.(p.name);
          paused.push(p.name);
        }
        await this.pass(shadow, checkpoints, written, batchSize);
        this.keptTables = await switchToShadow(this.ctx.live.store, shadow, this.shadowName, this.projections, this.id, this.opts.keepOld ?? false);
      } finally {
        for (const name of paused) await this.ctx.resumeLive?.(name);
      }
      this.phase = 'switched';
      this.finishedAt = new Date().toISOString();
      this.log('info', 'rebuild switched', { done: this.status().done, keptTables: this.keptTables });
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
      if (err instanceof PoisonInRebuild) {
        const e = err.event;
        this.failedEvent = { projection: err.projection.name, id: e.id, position: e.position.toString(), type: e.type, streamId: e.streamId };
      }
      this.log('error', 'rebuild failed', { error: this.error });
    } finally {
      await shadow?.close().catch(() => undefined);
      await this.record().catch((err) => this.log('warn', 'could not record the rebuild outcome', { error: errorMessage(err) }));
      this.emit();
    }
    return this.status();
  }

  /** One read from the lowest shadow checkpoint to the current end of the log. Returns events read. */
  private async pass(shadow: ReadStore, checkpoints: Map<string, bigint | null>, written: Map<string, WrittenTables>, batchSize: number): Promise<number> {
    let read = 0;
    // One batch of read-ahead: the next batch streams in while this one is folded.
    const source = readHistory(this.ctx.events, minCheckpoint(checkpoints), batchSize);
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
        try {
          await this.applyShadow(shadow, batch, checkpoints, written);
        } catch (err) {
          if (err instanceof PoisonInRebuild) throw err;
          // Find the event: one event per transaction up to the one that throws.
          for (const e of batch) {
            await this.applyShadow(shadow, [e], checkpoints, written, true);
            if (this.progress) this.progress.done += 1;
            this.position = e.position;
          }
          throw err;
        }
        const last = batch[batch.length - 1].position;
        if (this.progress) {
          this.progress.done += batch.length;
          if (last > this.progress.head) this.progress.head = last;
        }
        this.position = last;
        await this.heartbeat();
        this.emit();
        await this.opts.afterBatch?.(this.status());
      }
    } finally {
      // Ends the read (after the pending read-ahead, if any) instead of leaving the gRPC call open.
      void source.return(undefined).catch(() => undefined);
    }
    return read;
  }

  private async applyShadow(
    shadow: ReadStore,
    batch: readonly RecordedCairnEvent[],
    checkpoints: Map<string, bigint | null>,
    written: Map<string, WrittenTables>,
    single = false,
  ): Promise<void> {
    const moved = new Map<string, bigint>();
    await shadow.transaction(async (trx) => {
      for (const p of this.projections) {
        const from = checkpoints.get(p.name) ?? null;
        const mine = from === null ? batch : batch.filter((e) => e.position > from);
        if (mine.length === 0) continue;
        const tracker = written.get(p.name)!;
        const before = tracker.tables.size;
        const t0 = performance.now();
        try {
          await p.applyBatch(trx.withPlugin(tracker), mine);
          this.applyMs[p.name] = Math.round((this.applyMs[p.name] ?? 0) + performance.now() - t0);
        } catch (err) {
          if (single) throw new PoisonInRebuild(p, mine[0], errorMessage(err));
          throw err;
        }
        const last = mine[mine.length - 1].position;
        await writeCheckpoint(trx, p.name, last, mine.length);
        if (tracker.tables.size !== before || from === null) {
          const rows = [...tracker.tables].map((t) => ({ projection: p.name, table_name: t }));
          if (rows.length > 0) await trx.insertInto('projection_tables').values(rows).onConflict((oc) => oc.doNothing()).execute();
        }
        moved.set(p.name, last);
      }
    });
    for (const [name, pos] of moved) checkpoints.set(name, pos);
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

function minCheckpoint(checkpoints: Map<string, bigint | null>): bigint | null {
  let min: bigint | undefined;
  for (const c of checkpoints.values()) {
    if (c === null) return null;
    if (min === undefined || c < min) min = c;
  }
  return min ?? null;
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
  return ':memory:';
}

async function openShadow(live: LiveStore, name: string): Promise<ReadStore> {
  if (live.store.kind === 'postgres') return openReadStore(live.url, { schema: name });
  return openReadStore(name === ':memory:' ? ':memory:' : `sqlite:${name}`);
}

async function dropShadow(live: LiveStore, name: string): Promise<void> {
  if (live.store.kind === 'postgres') {
    await sql`drop schema if exists ${sql.id(name)} cascade`.execute(live.store.db);
    return;
  }
  if (name === ':memory:') return;
  for (const f of [name, `${name}-wal`, `${name}-shm`]) if (existsSync(f)) rmSync(f, { force: true });
}

/**
 * One live transaction: for every table the projections wrote, replace the live rows with the
 * shadow's (keeping the old ones as a renamed copy when asked), and set the checkpoints and the
 * recorded versions. Returns the names of the kept tables.
 */
async function switchToShadow(live: ReadStore, shadow: ReadStore, shadowName: string, projections: readonly Projection[], jobId: string, keepOld: boolean): Promise<string[]> {
  const names = projections.map((p) => p.name);
  const tableRows = names.length === 0 ? [] : await shadow.db.selectFrom('projection_tables').select('table_name').where('projection', 'in', names).execute();
  const tables = [...new Set(tableRows.map((r) => r.table_name))].sort();
  const shapes = new Map<string, { columns: readonly string[]; order: readonly string[]; keyed: boolean }>();
  for (const t of tables) {
    const s = await tableShape(shadow.db, t, shadow.kind);
    shapes.set(t, { columns: s.columns, order: s.primaryKey.length > 0 ? s.primaryKey : s.columns, keyed: s.primaryKey.length > 0 });
  }
  const cps = await shadow.db.selectFrom('checkpoints').selectAll().where('projection', 'in', names).execute();
  const stamp = new Date().toISOString().replace(/[-:TZ.]/g, '').slice(0, 14);
  const kept: string[] = [];
  // PostgreSQL: the shadow is a schema of the same database, so one INSERT … SELECT per table.
  // SQLite: rows travel through JS in keyset pages (ATTACH would land on the store's read
  // connection, not the writer). Readers are not blocked meanwhile: they read the last committed
  // state on their own connection (WAL) until the switch commits.
  const direct = live.kind === 'postgres';
  await live.transaction(async (trx) => {
    for (const t of tables) {
      const { columns, order, keyed } = shapes.get(t)!;
      if (keepOld) {
        const copy = `${t}__old_${stamp}`;
        await sql`create table ${sql.id(copy)} as select * from ${sql.id(t)}`.execute(trx);
        kept.push(copy);
      }
      await sql`delete from ${sql.id(t)}`.execute(trx);
      if (direct) {
        const cols = sql.join(columns.map((c) => sql.id(c)));
        await sql`insert into ${sql.id(t)} (${cols}) select ${cols} from ${sql.id(shadowName, t)}`.execute(trx);
      } else {
        await copyRows(shadow.db, trx, t, columns, order, keyed);
      }
    }
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
  return kept;
}

function quoteId(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Keyset-paged copy from the shadow (its own connection) into the live transaction. SQLite only (`?` placeholders). */
async function copyRows(from: Kysely<ReadModelSchema>, to: Kysely<ReadModelSchema>, table: string, columns: readonly string[], order: readonly string[], keyed: boolean): Promise<void> {
  const perRow = Math.max(1, columns.length);
  const chunk = Math.max(1, Math.min(1000, Math.floor(30_000 / perRow)));
  const cols = sql.join(columns.map((c) => sql.id(c)));
  const orderCols = sql.join(order.map((c) => sql.id(c)));
  const rowMarks = `(${columns.map(() => '?').join(', ')})`;
  let after: Record<string, unknown> | null = null;
  let offset = 0;
  for (;;) {
    // Keyset on the primary key; a table without one is paged by offset (the shadow is quiescent).
    const where: RawBuilder<unknown> =
      keyed && after !== null ? sql`where (${orderCols}) > (${sql.join(order.map((c) => sql`${after![c] as never}`))})` : sql``;
    const page: RawBuilder<unknown> = keyed ? sql`` : sql`offset ${offset}`;
    const { rows } = await sql<Record<string, unknown>>`select ${cols} from ${sql.id(table)} ${where} order by ${orderCols} limit ${chunk} ${page}`.execute(from);
    if (rows.length === 0) break;
    // One compiled statement per page size (cached by the driver), parameters flat: no query tree.
    const text = `insert into ${quoteId(table)} (${columns.map(quoteId).join(', ')}) values ${new Array(rows.length).fill(rowMarks).join(', ')}`;
    await to.executeQuery(CompiledQuery.raw(text, rows.flatMap((r) => columns.map((c) => r[c]))));
    after = rows[rows.length - 1];
    offset += rows.length;
    if (rows.length < chunk) break;
  }
}

/** The last recorded rebuild jobs (newest first), from the live store. */
export async function listRebuilds(db: Kysely<ReadModelSchema>, limit = 50) {
  return db.selectFrom('rebuilds').selectAll().orderBy('started_at', 'desc').limit(limit).execute();
}

export async function builtVersions(db: Kysely<ReadModelSchema>): Promise<Map<string, number>> {
  const rows = await db.selectFrom('projection_versions').selectAll().execute();
  return new Map(rows.map((r) => [r.projection, Number(r.version)]));
}
