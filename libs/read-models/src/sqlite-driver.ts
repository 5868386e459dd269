/**
 * A kysely dialect over one better-sqlite3 connection. Differs from kysely's SqliteDialect in three
 * ways that matter to a projector:
 * - transactions start with BEGIN IMMEDIATE (take the write lock up front: no SQLITE_BUSY upgrade
 *   failure half-way through a batch when another process writes);
 * - prepared statements are cached by SQL text (chunked upserts reuse the same few statements);
 * - rollback is skipped when SQLite already rolled the transaction back itself, so the original
 *   error is the one that surfaces.
 */
import type Database from 'better-sqlite3';
import {
  type CompiledQuery,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
} from 'kysely';

const STATEMENT_CACHE_SIZE = 64;

class SqliteConnection implements DatabaseConnection {
  readonly #cache = new Map<string, Database.Statement>();

  constructor(private readonly raw: Database.Database) {}

  #prepare(sqlText: string): Database.Statement {
    let stmt = this.#cache.get(sqlText);
    if (stmt !== undefined) {
      // Refresh recency.
      this.#cache.delete(sqlText);
    } else {
      stmt = this.raw.prepare(sqlText);
      if (this.#cache.size >= STATEMENT_CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value as string);
    }
    this.#cache.set(sqlText, stmt);
    return stmt;
  }

  /** Whether a statement only reads (better-sqlite3 knows from the prepared statement). */
  isReadOnly(sqlText: string): boolean {
    return this.#prepare(sqlText).readonly;
  }

  executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    try {
      const stmt = this.#prepare(compiled.sql);
      const params = compiled.parameters as unknown[];
      if (stmt.reader) return Promise.resolve({ rows: stmt.all(...params) as R[] });
      const { changes } = stmt.run(...params);
      return Promise.resolve({ rows: [], numAffectedRows: BigInt(changes) });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async *streamQuery<R>(compiled: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    // Not cached: an iterating statement is busy until exhausted.
    const stmt = this.raw.prepare(compiled.sql);
    for (const row of stmt.iterate(...(compiled.parameters as unknown[]))) yield { rows: [row as R] };
  }
}

/** better-sqlite3 has one connection: callers queue for it. */
export class Mutex {
  #tail: Promise<void> = Promise.resolve();
  lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const acquired = this.#tail.then(() => release);
    this.#tail = this.#tail.then(() => next);
    return acquired;
  }
}

/**
 * One handle per acquisition. Outside a transaction, statements that only read run at once on the
 * reader connection (WAL: readers never wait for the writer, and see the last committed state), and
 * statements that write take the writer's lock for that one statement. A transaction holds the
 * writer's lock from BEGIN IMMEDIATE to COMMIT/ROLLBACK, so the projector's batches never make a
 * query wait.
 */
class RoutingConnection implements DatabaseConnection {
  release: (() => void) | undefined;

  constructor(private readonly driver: ImmediateSqliteDriver) {}

  get inTransaction(): boolean {
    return this.release !== undefined;
  }

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const d = this.driver;
    if (this.inTransaction) return d.writer.executeQuery<R>(compiled);
    if (d.reader !== d.writer && d.writer.isReadOnly(compiled.sql)) return d.reader.executeQuery<R>(compiled);
    const release = await d.mutex.lock();
    try {
      return await d.writer.executeQuery<R>(compiled);
    } finally {
      release();
    }
  }

  async *streamQuery<R>(compiled: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    const d = this.driver;
    if (this.inTransaction || (d.reader !== d.writer && d.writer.isReadOnly(compiled.sql))) {
      yield* (this.inTransaction ? d.writer : d.reader).streamQuery<R>(compiled);
      return;
    }
    const release = await d.mutex.lock();
    try {
      yield* d.writer.streamQuery<R>(compiled);
    } finally {
      release();
    }
  }
}

class ImmediateSqliteDriver implements Driver {
  readonly writer: SqliteConnection;
  readonly reader: SqliteConnection;

  /** `readerRaw`: a second, read-only connection to the same file (none for :memory:). */
  constructor(
    private readonly raw: Database.Database,
    private readonly readerRaw: Database.Database | undefined,
    readonly mutex: Mutex,
  ) {
    this.writer = new SqliteConnection(raw);
    this.reader = readerRaw ? new SqliteConnection(readerRaw) : this.writer;
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    // With a single connection (:memory:) every use is serialised, as a transaction on it would
    // otherwise be visible to (and joined by) concurrent statements.
    const handle = new RoutingConnection(this);
    if (this.reader === this.writer) handle.release = await this.mutex.lock();
    return handle;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    const handle = connection as RoutingConnection;
    if (!handle.inTransaction) handle.release = await this.mutex.lock();
    this.raw.exec('begin immediate');
  }

  async commitTransaction(): Promise<void> {
    this.raw.exec('commit');
  }

  async rollbackTransaction(): Promise<void> {
    if (this.raw.inTransaction) this.raw.exec('rollback');
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const handle = connection as RoutingConnection;
    const release = handle.release;
    handle.release = undefined;
    release?.();
  }

  async destroy(): Promise<void> {
    if (this.readerRaw?.open) this.readerRaw.close();
    if (this.raw.open) this.raw.close();
  }
}

export class ImmediateSqliteDialect implements Dialect {
  /** The writer connection's lock: hold it to use `raw` directly (statements outside any transaction). */
  readonly mutex = new Mutex();

  constructor(
    private readonly raw: Database.Database,
    private readonly readerRaw?: Database.Database,
  ) {}
  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }
  createDriver(): Driver {
    return new ImmediateSqliteDriver(this.raw, this.readerRaw, this.mutex);
  }
  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}
