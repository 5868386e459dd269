/**
 * What a projection is: a name and version, the tables it owns, and an in-memory fold state that
 * turns events into rows. Everything else (the subscription, batching, memory, checkpoints, bulk
 * writes, parking, rebuilds and replays) is the engine's (`engine/`), shared by every projection.
 *
 * A projection never runs SQL to write: it puts rows into a `RowSink`, and the engine writes each
 * touched row once per flush, in the same transaction as the checkpoint. It may read the store
 * before a batch (`prepare`), to bring into memory what the batch needs and the engine evicted.
 */
import type { Kysely } from 'kysely';
import { isIdentityEventType, type IdentityEvent, type RecordedCairnEvent } from '@cairn/domain';
import type { ReadModelSchema } from '@cairn/read-models';

/** An admin identity command (merge/unmerge) as read from the log, in log order with the ingest events. */
export interface RecordedIdentityEvent<E extends IdentityEvent = IdentityEvent> {
  readonly id: string;
  readonly type: E['type'];
  readonly data: E['data'];
  readonly metadata?: undefined;
  readonly streamId: string;
  readonly revision: bigint;
  readonly position: bigint;
}

/** Every event the engine feeds projections: the ingest catalogue and the admin identity commands. */
export type LogEvent = RecordedCairnEvent | RecordedIdentityEvent;

export function isIngestEvent(e: LogEvent): e is RecordedCairnEvent {
  return !isIdentityEventType(e.type);
}

/** A table a projection writes. `key` is its primary key; `columns` every column it writes. */
export interface TableSpec {
  readonly table: string;
  readonly key: readonly string[];
  readonly columns: readonly string[];
  /** 'upsert': the last row put per key wins; 'insert': facts, an existing key is left as it is. */
  readonly mode: 'upsert' | 'insert';
}

export type Row = Readonly<Record<string, unknown>>;

/** Where a fold puts its output. Several puts of one key in a flush write the last one, once. */
export interface RowSink {
  put(table: string, row: Row): void;
  /** Deletes by primary key (the key columns of `key`). */
  delete(table: string, key: Row): void;
}

export interface FoldState {
  /**
   * Before a batch is folded, outside the fold: loads into memory what these events need and is not
   * in memory yet (state evicted under the memory budget, or written by an earlier process).
   */
  prepare?(events: readonly LogEvent[], db: Kysely<ReadModelSchema>): Promise<void>;
  /**
   * Folds one event. Synchronous and deterministic. Throwing means the event cannot be folded
   * (poison): the fold must then have changed nothing, so check before you mutate.
   */
  apply(event: LogEvent, out: RowSink): void;
  /**
   * Puts the rows held back until the flush (documents touched by several events are written once).
   * May be a generator: the engine writes what was put so far at each `yield`, in the flush's
   * transaction, so a flush of a hundred thousand documents holds a portion of them at a time.
   */
  flush?(out: RowSink): void | Iterable<unknown>;
  /** After the flush's transaction committed: what was flushed is now the stored state. */
  committed?(): void;
  /** Approximate bytes held in memory; the engine flushes and calls `evict` above its budget. */
  memory?(): number;
  /** Drops clean (already written) state from memory; it is loaded again by `prepare` when needed. */
  evict?(): void;
}

export interface Projection {
  readonly name: string;
  readonly version: number;
  readonly tables: readonly TableSpec[];
  /** A fresh, empty state. The engine makes a new one whenever it cannot trust the old one (a failed commit). */
  createState(): FoldState;
  /** Creates tables the migrations do not (test projections); run once before the first batch. */
  setup?(db: Kysely<ReadModelSchema>): Promise<void>;
}

/**
 * A projection of facts: each event becomes zero or more insert-only rows, and nothing is kept in
 * memory. `rowsOf` is the whole definition.
 */
export function factsProjection(def: {
  readonly name: string;
  readonly version: number;
  readonly tables: readonly TableSpec[];
  readonly rowsOf: (event: LogEvent, out: RowSink) => void;
}): Projection {
  return {
    name: def.name,
    version: def.version,
    tables: def.tables,
    createState: () => ({ apply: def.rowsOf }),
  };
}
