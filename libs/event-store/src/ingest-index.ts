/**
 * The ingest index: which event ids the event store already holds, so `POST /v1/events` can answer
 * `duplicate` for a re-sent event.
 *
 * Where it lives:
 * - PostgreSQL read store: its `ingested_events` table, shared by every API instance (row locks,
 *   so it never waits for a projector transaction).
 * - SQLite read store: a database file of its own beside it (`<name>-ingest-index.sqlite`), so
 *   ingest never waits for the SQLite write lock that the projection engine's transactions hold
 *   (the engine runs in its own thread and connection under `cairn start`). Rows an earlier version
 *   kept in the read store's `ingested_events` are copied over once, when the file is created.
 *
 * It is written after the append is acknowledged. If a process dies in between, the client retries
 * with the same id; EventStoreDB's own idempotency by event id makes that append a no-op, so the
 * worst case is an `accepted` where `duplicate` would have been exact, never a second copy.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, openSync } from 'fs';
import { basename, dirname, join } from 'path';
import type { Kysely } from 'kysely';
import type { ReadModelSchema } from '@cairn/read-models';

const CHUNK = 500;

export interface IngestIndex {
  /** The subset of `ids` already ingested. */
  find(ids: readonly string[]): Promise<Set<string>>;
  record(rows: readonly { id: string; streamId: string }[], at: Date): Promise<void>;
  close(): Promise<void>;
}

/** The index as a table of the read store (PostgreSQL, or an in-memory SQLite store). */
export function readStoreIngestIndex(db: Kysely<ReadModelSchema>): IngestIndex {
  return {
    find: async (ids) => {
      const found = new Set<string>();
      for (let i = 0; i < ids.length; i += CHUNK) {
        const rows = await db.selectFrom('ingested_events').select('event_id').where('event_id', 'in', ids.slice(i, i + CHUNK)).execute();
        for (const r of rows) found.add(r.event_id);
      }
      return found;
    },
    record: async (rows, at) => {
      const recordedAt = at.toISOString();
      for (let i = 0; i < rows.length; i += CHUNK / 2) {
        const chunk = rows.slice(i, i + CHUNK / 2).map((r) => ({ event_id: r.id, stream_id: r.streamId, recorded_at: recordedAt }));
        await db.insertInto('ingested_events').values(chunk).onConflict((oc) => oc.column('event_id').doNothing()).execute();
      }
    },
    close: async () => undefined,
  };
}

/** Where the SQLite ingest index of a SQLite read store at `readStorePath` lives. */
export function ingestIndexPath(readStorePath: string): string {
  return join(dirname(readStorePath), `${basename(readStorePath).replace(/\.sqlite3?$|\.db$/, '')}-ingest-index.sqlite`);
}

/** The index in a SQLite file of its own (see the top of this file). */
export function openSqliteIngestIndex(file: string, legacyReadStore?: string): IngestIndex {
  const fresh = !existsSync(file);
  if (fresh) closeSync(openSync(file, 'a', 0o600));
  else chmodSync(file, 0o600);
  // timeout = busy_timeout: another API process on the same file makes us wait, not fail.
  const db = new Database(file, { timeout: 5000 });
  try {
    db.pragma('journal_mode = WAL');
    // Like the read models: a lost tail of the index only turns a `duplicate` into an idempotent no-op append.
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE IF NOT EXISTS ingested_events (event_id TEXT PRIMARY KEY, stream_id TEXT NOT NULL, recorded_at TEXT NOT NULL)');
    if (db.pragma('user_version', { simple: true }) === 0) {
      if (legacyReadStore !== undefined && existsSync(legacyReadStore)) {
        db.prepare('ATTACH DATABASE ? AS legacy').run(legacyReadStore);
        try {
          const has = db.prepare("SELECT 1 FROM legacy.sqlite_master WHERE type = 'table' AND name = 'ingested_events'").get();
          if (has) db.exec('INSERT OR IGNORE INTO ingested_events SELECT event_id, stream_id, recorded_at FROM legacy.ingested_events');
        } finally {
          db.exec('DETACH DATABASE legacy');
        }
      }
      db.pragma('user_version = 1');
    }
  } catch (err) {
    db.close();
    throw err;
  }
  const finders = new Map<number, Database.Statement>();
  const finder = (n: number) => {
    let s = finders.get(n);
    if (!s) finders.set(n, (s = db.prepare(`SELECT event_id FROM ingested_events WHERE event_id IN (${Array(n).fill('?').join(',')})`).pluck()));
    return s;
  };
  const insert = db.prepare('INSERT OR IGNORE INTO ingested_events (event_id, stream_id, recorded_at) VALUES (?, ?, ?)');
  const insertAll = db.transaction((rows: readonly { id: string; streamId: string }[], recordedAt: string) => {
    for (const r of rows) insert.run(r.id, r.streamId, recordedAt);
  });
  return {
    find: async (ids) => {
      const found = new Set<string>();
      for (let i = 0; i < ids.length; i += CHUNK) {
        const chunk = ids.slice(i, i + CHUNK);
        for (const id of finder(chunk.length).all(...chunk) as string[]) found.add(id);
      }
      return found;
    },
    record: async (rows, at) => {
      if (rows.length > 0) insertAll(rows, at.toISOString());
    },
    close: async () => {
      if (db.open) db.close();
    },
  };
}
