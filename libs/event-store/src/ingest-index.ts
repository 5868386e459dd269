/**
 * The ingest index: which event ids the event store already holds, so `POST /v1/events` can answer
 * `duplicate` for a re-sent event. It lives in the read store (shared by every API instance).
 *
 * It is written after the append is acknowledged. If a process dies in between, the client retries
 * with the same id; EventStoreDB's own idempotency by event id makes that append a no-op, so the
 * worst case is an `accepted` where `duplicate` would have been exact, never a second copy.
 */
import { sql, type Kysely } from 'kysely';

const TABLE = 'ingested_events';

export async function ensureIngestIndex(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable(TABLE)
    .ifNotExists()
    .addColumn('event_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('stream_id', 'varchar(200)', (c) => c.notNull())
    .addColumn('recorded_at', 'varchar(40)', (c) => c.notNull())
    .execute();
}

/** The subset of `ids` already ingested. */
export async function findIngested(db: Kysely<any>, ids: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    const rows = await db.selectFrom(TABLE).select('event_id').where('event_id', 'in', chunk).execute();
    for (const r of rows) found.add(r.event_id as string);
  }
  return found;
}

export async function recordIngested(db: Kysely<any>, rows: readonly { id: string; streamId: string }[], at: Date): Promise<void> {
  const recordedAt = at.toISOString();
  for (let i = 0; i < rows.length; i += 250) {
    const chunk = rows.slice(i, i + 250).map((r) => ({ event_id: r.id, stream_id: r.streamId, recorded_at: recordedAt }));
    await db.insertInto(TABLE).values(chunk).onConflict((oc) => oc.column('event_id').doNothing()).execute();
  }
}

export async function countIngested(db: Kysely<any>): Promise<number> {
  const row = await db.selectFrom(TABLE).select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}
