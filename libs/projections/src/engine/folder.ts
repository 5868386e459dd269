/**
 * The fold-and-write core shared by live projection, rebuilds and replays: per projection a slot
 * with its in-memory state, the rows changed since the last flush and its checkpoint; `fold` folds
 * a batch into every slot, `flush` writes every slot's rows and checkpoint in ONE transaction.
 * Where the events come from (a live subscription, one long read of history) is the caller's.
 */
import { sql, type Transaction } from 'kysely';
import { storeUnavailableReason, writeCheckpoint, type ReadModelSchema, type ReadStore } from '@cairn/read-models';
import { errorMessage, parkEvent } from '../ops/parked';
import type { FoldState, LogEvent, Projection, Row, RowSink, TableSpec } from '../projection';
import { Changes, writeFlush } from './rows';

export interface PoisonReport {
  readonly id: string;
  readonly position: string;
  readonly type: string;
  readonly streamId: string;
}

export interface FolderOptions {
  readonly onPoison?: 'park' | 'stop';
  /** Check, row-locked on PostgreSQL, that the stored checkpoints are the ones committed last (live). */
  readonly guard?: boolean;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  /** Told of every event parked (rebuilds report them). */
  readonly onParked?: (projection: string, event: PoisonReport, error: string) => void;
}

/** Rough bytes of a row waiting for the flush (the row object, its strings, the map entry; measured ~770 for a fact). */
const ROW_BYTES = 800;

/** Another writer moved a checkpoint, or the store refused a batch: resume from the stored checkpoints. */
export class CheckpointMoved extends Error {
  constructor(readonly projection: string) {
    super(`checkpoint of ${projection} moved by another writer`);
  }
}

/** The store refused a projection's batch: read again from the stored checkpoints (that slot now isolates). */
export class RefusedBatch extends CheckpointMoved {}

/** Records one event's output, so a fold that throws half-way leaves nothing behind. */
export class Staging implements RowSink {
  readonly ops: { table: string; row: Row; del: boolean }[] = [];
  constructor(private readonly specs: ReadonlyMap<string, TableSpec>) {}
  /** A row the write would refuse (undeclared table, missing key) throws here, inside the fold. */
  private check(table: string, row: Row): void {
    const spec = this.specs.get(table);
    if (spec === undefined) throw new Error(`table ${table} is not declared by the projection`);
    for (const c of spec.key) if (row[c] === undefined || row[c] === null) throw new Error(`${table}: key column ${c} is missing`);
  }
  put(table: string, row: Row): void {
    this.check(table, row);
    this.ops.push({ table, row, del: false });
  }
  delete(table: string, key: Row): void {
    this.check(table, key);
    this.ops.push({ table, row: key, del: true });
  }
  into(out: RowSink): void {
    for (const o of this.ops) (o.del ? out.delete(o.table, o.row) : out.put(o.table, o.row));
  }
}

export class Slot {
  state: FoldState;
  changes: Changes;
  /** Committed checkpoint. */
  checkpoint: bigint | null = null;
  /** Last position folded into the pending flush (≥ checkpoint). */
  folded: bigint | null = null;
  pendingCount = 0;
  pendingParks: { event: LogEvent; message: string }[] = [];
  /** Replay one event per transaction up to here (a write the store refused). */
  isolateUntil: bigint | null = null;
  /** The last event folded (the poison, when a one-event batch is refused). */
  lastEvent: LogEvent | null = null;
  processed = 0;
  parked = 0;
  lastError: string | null = null;
  failedEvent: PoisonReport | null = null;
  failed = false;
  paused = false;
  readonly samples: { at: number; processed: number }[] = [];
  readonly specs: ReadonlyMap<string, TableSpec>;

  constructor(readonly projection: Projection) {
    this.specs = new Map(projection.tables.map((t) => [t.table, t]));
    this.state = projection.createState();
    this.changes = new Changes(this.specs);
  }

  reset(): void {
    this.state = this.projection.createState();
    this.changes = new Changes(this.specs);
    this.folded = this.checkpoint;
    this.pendingCount = 0;
    this.pendingParks = [];
  }

  /** Approximate bytes: the state's, plus what the next flush writes. */
  memory(): number {
    return (this.state.memory?.() ?? 0) + this.staged();
  }

  /** Approximate bytes of the rows waiting for the flush. */
  staged(): number {
    return this.changes.size * ROW_BYTES;
  }

    get active(): boolean {
    return !this.failed && !this.paused;
  }

  get pending(): boolean {
    return this.folded !== this.checkpoint || this.pendingParks.length > 0;
  }
}

export class Folder {
  readonly slots: Slot[];

  constructor(
    private readonly store: ReadStore,
    projections: readonly Projection[],
    private readonly options: FolderOptions = {},
  ) {
    const names = new Set<string>();
    for (const p of projections) {
      if (names.has(p.name)) throw new Error(`projection ${p.name} registered twice`);
      names.add(p.name);
    }
    this.slots = projections.map((p) => new Slot(p));
  }

  slot(name: string): Slot {
    const s = this.slots.find((x) => x.projection.name === name);
    if (!s) throw new Error(`no projection ${name} here`);
    return s;
  }

  /** Whether some slot replays one event per transaction (the caller then folds batches of one and flushes each). */
  get isolating(): boolean {
    return this.slots.some((s) => s.isolateUntil !== null && s.active);
  }

  get pending(): boolean {
    return this.slots.some((s) => s.pending);
  }

  /** Approximate bytes held: states plus rows waiting for the flush. */
  memory(): number {
    let n = 0;
    for (const s of this.slots) n += s.memory();
    return n;
  }

  evict(): void {
    for (const s of this.slots) s.state.evict?.();
  }

  /**
   * Over the memory budget: writes the slots whose memory is rows waiting (facts), which frees it
   * without touching in-memory state; if that is not enough, writes everything and evicts.
   */
  async relieve(budget: number): Promise<void> {
    const rowsHeavy = this.slots.filter((s) => s.changes.size * ROW_BYTES > (s.state.memory?.() ?? 0));
    if (rowsHeavy.length > 0) await this.flush(rowsHeavy);
    if (this.memory() <= budget) return;
    await this.flush();
    this.evict();
  }

  /**
   * Bulk builds: writes the slots whose staged output exceeds `maxBytes` (each slot has its own
   * checkpoint, so a slot may be written ahead of the others). Returns whether it wrote.
   */
  async flushStaged(maxBytes: number): Promise<boolean> {
    const heavy = this.slots.filter((s) => s.pending && s.staged() > maxBytes);
    if (heavy.length === 0) return false;
    await this.flush(heavy);
    return true;
  }

    /** The lowest committed checkpoint of the running slots (where a read must resume), or undefined if none runs. */
  resumeFrom(): bigint | null | undefined {
    const active = this.slots.filter((s) => s.active);
    if (active.length === 0) return undefined;
    let from: bigint | null = active[0]!.checkpoint;
    for (const s of active) if (s.checkpoint === null || (from !== null && s.checkpoint < from)) from = s.checkpoint;
    return from;
  }

  async fold(batch: readonly LogEvent[]): Promise<void> {
    for (const s of this.slots) {
      if (!s.active) continue;
      const from = s.folded;
      const mine = from === null ? batch : batch.filter((e) => e.position > from);
      if (mine.length === 0) continue;
      await s.state.prepare?.(mine, this.store.db);
      for (const e of mine) {
        const staging = new Staging(s.specs);
        try {
          s.state.apply(e, staging);
        } catch (err) {
          if (!this.poison(s, e, errorMessage(err))) break;
          continue;
        }
        staging.into(s.changes);
        s.folded = e.position;
        s.lastEvent = e;
        s.pendingCount += 1;
      }
    }
  }

  /** Returns whether the projection goes on (park) or stopped (stop). */
  poison(s: Slot, e: LogEvent, message: string): boolean {
    const where = { id: e.id, position: e.position.toString(), type: e.type, streamId: e.streamId };
    s.lastError = `event ${e.id} at ${e.position} (${e.type}): ${message}`;
    if ((this.options.onPoison ?? 'park') === 'stop') {
      s.failed = true;
      s.failedEvent = where;
      this.options.log?.('error', 'projection stopped on a poison event', { projection: s.projection.name, event: where, error: message });
      return false;
    }
    this.options.log?.('warn', 'poison event parked', { projection: s.projection.name, event: where, error: message });
    this.options.onParked?.(s.projection.name, where, message);
    s.pendingParks.push({ event: e, message });
    s.folded = e.position;
    s.pendingCount += 1;
    return true;
  }

  /** Writes every slot's pending rows, parks and checkpoint in one transaction. */
  async flush(only?: readonly Slot[]): Promise<void> {
    // A projection stopped on a poison event (onPoison 'stop') still commits what it folded before it.
    const pending = (only ?? this.slots).filter((s) => s.pending);
    if (pending.length === 0) return;
    const refused = new Map<Slot, string>();
    await this.store.transaction(async (trx) => {
      for (const s of pending) await this.guard(trx, s);
      for (const s of pending) {
        await sql`savepoint cairn_projection`.execute(trx);
        try {
          await writeFlush(s.state, s.changes, trx, this.store.kind);
          for (const p of s.pendingParks) await parkEvent(trx, s.projection, p.event as never, p.message);
          await writeCheckpoint(trx, s.projection.name, s.folded!, s.pendingCount);
          await sql`release savepoint cairn_projection`.execute(trx);
        } catch (err) {
          // A lost connection or a full disk is the store's fault, never the events': fail the flush
          // (the caller restarts from the checkpoints). A broken connection fails the rollback too.
          if (storeUnavailableReason(err) !== undefined) throw err;
          await sql`rollback to savepoint cairn_projection`.execute(trx);
          await sql`release savepoint cairn_projection`.execute(trx);
          refused.set(s, errorMessage(err));
        }
      }
    });
    const now = Date.now();
    let restart = false;
    for (const s of pending) {
      const why = refused.get(s);
      if (why === undefined) {
        s.checkpoint = s.folded;
        s.processed += s.pendingCount;
        s.parked += s.pendingParks.length;
        s.pendingCount = 0;
        s.pendingParks = [];
        s.changes = new Changes(s.specs);
        s.state.committed?.();
        if (s.isolateUntil !== null && s.checkpoint !== null && s.checkpoint >= s.isolateUntil) s.isolateUntil = null;
        s.samples.push({ at: now, processed: s.processed });
        while (s.samples.length > 2 && now - s.samples[0]!.at > 10_000) s.samples.shift();
        continue;
      }
      s.lastError = why;
      const single = s.isolateUntil !== null && s.pendingCount === 1 ? s.lastEvent : null;
      if (single === null) {
        // Which event? Replay this projection one event per transaction up to the batch's end.
        this.options.log?.('error', 'the read store refused a projection batch; replaying it one event at a time', { projection: s.projection.name, error: why });
        s.isolateUntil = s.folded;
        restart = true;
        continue;
      }
      // One event, refused by the store: that is the poison. Its fold is not committed: forget it.
      s.reset();
      if (!this.poison(s, single, why)) continue;
      await this.store.transaction(async (trx) => {
        await this.guard(trx, s);
        await parkEvent(trx, s.projection, single as never, why);
        await writeCheckpoint(trx, s.projection.name, single.position, 1);
      });
      s.checkpoint = single.position;
      s.folded = single.position;
      s.pendingCount = 0;
      s.pendingParks = [];
      s.parked += 1;
      s.processed += 1;
      if (s.isolateUntil !== null && s.checkpoint >= s.isolateUntil) s.isolateUntil = null;
    }
    if (restart) throw new RefusedBatch(pending.filter((s) => refused.has(s)).map((s) => s.projection.name).join(', '));
  }

  /** Inside the flush: the stored checkpoint must still be the one this engine committed. */
  private async guard(trx: Transaction<ReadModelSchema>, s: Slot): Promise<void> {
    if (!this.options.guard) return;
    let q = trx.selectFrom('checkpoints').select('position').where('projection', '=', s.projection.name);
    if (this.store.kind === 'postgres') q = q.forUpdate();
    const row = await q.executeTakeFirst();
    const stored = row === undefined ? null : BigInt(row.position);
    if (stored !== s.checkpoint) throw new CheckpointMoved(s.projection.name);
  }

}
