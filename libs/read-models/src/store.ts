/**
 * Opening the read-model store: SQLite (better-sqlite3, default) or PostgreSQL (pg pool), both
 * behind the same Kysely<ReadModelSchema>, migrated on open.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import { Pool, types as pgTypes } from 'pg';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { ImmediateSqliteDialect } from './sqlite-driver';
import { migratePostgres, migrateSqlite } from './migrations';
import type { ReadModelSchema, StoreKind } from './schema';

export interface ReadStore {
  readonly kind: StoreKind;
  readonly db: Kysely<ReadModelSchema>;
  /**
   * Runs fn in one transaction (BEGIN IMMEDIATE on SQLite). Use `trx` inside, never `db`: on SQLite
   * the single connection is held by the transaction, so a query on `db` would wait forever.
   */
  transaction<T>(fn: (trx: Transaction<ReadModelSchema>) => Promise<T>): Promise<T>;
  /**
   * SQLite only: runs one statement on the writer connection outside any transaction, under the
   * writer's lock (ATTACH/DETACH, which SQLite refuses inside a transaction and which would
   * otherwise be routed to the read connection).
   */
  onWriter?(sqlText: string, params?: readonly unknown[]): Promise<void>;
  /** Cheap liveness query, used by /health. */
  ping(): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

export interface OpenReadStoreOptions {
  /** PostgreSQL only: schema to use (created if missing), so tests can isolate themselves. */
  readonly schema?: string;
}

export type ReadStoreTarget =
  | { readonly kind: 'postgres'; readonly url: string }
  | { readonly kind: 'sqlite'; readonly path: string | ':memory:' };

/** 'postgres://…' / 'postgresql://…' → PostgreSQL; ':memory:' → SQLite in memory; 'sqlite:<path>' or a plain path → SQLite file. */
export function parseReadStoreUrl(url: string): ReadStoreTarget {
  const trimmed = url.trim();
  if (/^postgres(ql)?:\/\//i.test(trimmed)) return { kind: 'postgres', url: trimmed };
  let path = trimmed.startsWith('sqlite:') ? trimmed.slice('sqlite:'.length) : trimmed;
  // sqlite:///abs/path and sqlite://rel/path are accepted too.
  if (path.startsWith('//')) path = path.slice(2);
  if (path === '') throw new CairnError(ERROR_CODES.CONFIG, `read store url "${url}" names no database`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) throw new CairnError(ERROR_CODES.CONFIG, `read store url "${redact(url)}": unsupported scheme`);
  return { kind: 'sqlite', path: path === ':memory:' ? ':memory:' : path };
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export async function openReadStore(url: string, opts: OpenReadStoreOptions = {}): Promise<ReadStore> {
  const target = parseReadStoreUrl(url);
  if (target.kind === 'sqlite') {
    if (opts.schema !== undefined) throw new CairnError(ERROR_CODES.CONFIG, 'the read store `schema` option applies to PostgreSQL only');
    return openSqlite(target.path);
  }
  if (opts.schema !== undefined && !SCHEMA_NAME.test(opts.schema)) {
    throw new CairnError(ERROR_CODES.CONFIG, `invalid PostgreSQL schema name "${opts.schema}" (lower-case letters, digits and _, at most 63)`);
  }
  return openPostgres(target.url, opts.schema);
}

function openSqlite(path: string): ReadStore {
  if (path !== ':memory:') {
    // Private by default: directories we create are 0700, the database 0600 (SQLite gives its -wal
    // and -shm files the database file's mode).
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // Files of earlier versions (created 0644) become private too.
    for (const f of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) if (existsSync(f)) makePrivate(f);
    if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  }
  // timeout = busy_timeout: another process holding the write lock makes us wait, not fail.
  const raw = new Database(path, { timeout: 5000 });
  let reader: Database.Database | undefined;
  try {
    if (path !== ':memory:') raw.pragma('journal_mode = WAL');
    // Safe for read models: the checkpoint commits with its rows, so a lost tail is re-projected.
    raw.pragma('synchronous = NORMAL');
    // Queries read on their own connection so they never queue behind the projector's transactions.
    reader = path === ':memory:' ? undefined : new Database(path, { readonly: true, timeout: 5000 });
    const dialect = new ImmediateSqliteDialect(raw, reader);
    const db = new Kysely<ReadModelSchema>({ dialect });
    migrateSqlite(raw, db);
    const onWriter = async (sqlText: string, params: readonly unknown[] = []) => {
      const release = await dialect.mutex.lock();
      try {
        raw.prepare(sqlText).run(...params);
      } finally {
        release();
      }
    };
    return { ...makeStore('sqlite', db), onWriter };
  } catch (err) {
    if (reader?.open) reader.close();
    if (raw.open) raw.close();
    throw err;
  }
}

const INT8_OID = 20;

/** int8 (bigint columns, count(*)) → number: every int8 this store reads is a safe integer (checked on write). */
function parseInt8(value: string): number {
  return Number(value);
}

async function openPostgres(url: string, schema: string | undefined): Promise<ReadStore> {
  const pool = new Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: 5000,
    // Every connection resolves unqualified names in the store's schema.
    ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {}),
    // Per pool, not the process-global pg.types: other pg users keep their parsers.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID && format !== 'binary' ? parseInt8 : pgTypes.getTypeParser(oid, format as 'text')) as typeof pgTypes.getTypeParser,
    },
  });
  // A connection that breaks (server restart, failover, pg_terminate_backend, idle timeout) must
  // never crash the process. pg-pool only listens for errors on IDLE clients; a client checked out by
  // a query or a transaction would emit 'error' with no listener. Every client gets its own listener
  // for its whole life: the query in flight fails (the caller answers 503 or retries its batch), the
  // broken client is not queryable any more so the pool drops it on release, and the next query
  // opens a fresh connection.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  const db = new Kysely<ReadModelSchema>({ dialect: new PostgresDialect({ pool }) });
  try {
    await migratePostgres(db, schema);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    if (err instanceof CairnError) throw err;
    const e = err as NodeJS.ErrnoException;
    const unreachable = ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET'].includes(e.code ?? '') || /timeout|terminated/i.test(e.message);
    throw new CairnError(
      unreachable ? ERROR_CODES.UNAVAILABLE : ERROR_CODES.CONFIG,
      `${unreachable ? 'PostgreSQL unreachable' : 'PostgreSQL read store failed to open'} at ${redact(url)}: ${e.message || e.code || String(err)}`,
      { cause: e.code },
    );
  }
  return makeStore('postgres', db);
}

function makeStore(kind: StoreKind, db: Kysely<ReadModelSchema>): ReadStore {
  let closing: Promise<void> | undefined;
  return {
    kind,
    db,
    transaction: (fn) => db.transaction().execute(fn),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => (closing ??= db.destroy()),
  };
}

/**
 * Whether a driver error means the store is (for now) unavailable rather than that the query is
 * wrong: a lost or refused PostgreSQL connection, a server shutting down, a full disk or an I/O
 * error under SQLite. Returns a short reason Cairn may show a client (never the driver's text), or
 * undefined for any other error.
 */
export function storeUnavailableReason(err: unknown): 'disk full' | 'I/O error' | 'read-only' | 'busy' | 'connection lost' | 'unreachable' | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; message?: unknown; name?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : '';
  if (code.startsWith('SQLITE_')) {
    if (code === 'SQLITE_FULL') return 'disk full';
    if (code.startsWith('SQLITE_IOERR') || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_PROTOCOL' || code === 'SQLITE_NOMEM') return 'I/O error';
    if (code.startsWith('SQLITE_READONLY')) return 'read-only';
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'busy';
    return undefined;
  }
  if (e.name === 'TypeError' && message === 'The database connection is not open') return 'unreachable';
  // PostgreSQL SQLSTATE: class 08 connection exception, 57P01-57P03 shutdown / cannot connect now,
  // 53300 too many connections, 53100 disk full.
  if (/^08[0-9A-Z]{3}$/.test(code) || code === '57P01' || code === '57P02' || code === '57P03') return 'connection lost';
  if (code === '53300') return 'busy';
  if (code === '53100') return 'disk full';
  if (['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'].includes(code)) return 'unreachable';
  if (['ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(code)) return 'connection lost';
  if (/^(Connection terminated|Client has encountered a connection error|Client was closed|timeout exceeded when trying to connect|Cannot use a pool after calling end)/.test(message)) {
    return 'connection lost';
  }
  return undefined;
}

/** Hides a password in a connection URL. */
export function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}

/** chmod 0600, best effort: a file we may not chmod (another owner) is still opened as it is. */
function makePrivate(file: string): void {
  try {
    chmodSync(file, 0o600);
  } catch {
    // Not ours to change; SQLite opens it anyway (or reports why it cannot).
  }
}
