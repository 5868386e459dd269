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
class Mutex {
  #tail: Promise<void> = Promise.resolve();
  lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const acquired = this.#tail.then(() => release);
    this.#tail = this.#tail.then(() => next);
    return acquired;
  }
}

class ImmediateSqliteDriver implements Driver {
  readonly #mutex = new Mutex();
  readonly #connection: SqliteConnection;
  #release: (() => void) | undefined;

  constructor(private readonly raw: Database.Database) {
    this.#connection = new SqliteConnection(raw);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    this.#release = await this.#mutex.lock();
    return this.#connection;
  }

  async beginTransaction(): Promise<void> {
    this.raw.exec('begin immediate');
  }

  async commitTransaction(): Promise<void> {
    this.raw.exec('commit');
  }

  async rollbackTransaction(): Promise<void> {
    if (this.raw.inTransaction) this.raw.exec('rollback');
  }

  async releaseConnection(): Promise<void> {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }

  async destroy(): Promise<void> {
    if (this.raw.open) this.raw.close();
  }
}

export class ImmediateSqliteDialect implements Dialect {
  constructor(private readonly raw: Database.Database) {}
  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }
  createDriver(): Driver {
    return new ImmediateSqliteDriver(this.raw);
  }
  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}
