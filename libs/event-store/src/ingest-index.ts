/**
 * The ingest index: which event ids the event store already holds, so `POST /v1/events` can answer
 * `duplicate` for a re-sent event. It lives in the read store (shared by every API instance).
 *
 * It is written after the append is acknowledged. If a process dies in between, the client retries
 * with the same id; EventStoreDB's own idempotency by event id makes that append a no-op, so the
 * worst case is an `accepted` where `duplicate` would have been exact, never a second copy.
 */
import type { Kysely } from 'kysely';
import type { ReadModelSchema } from '@cairn/read-models';

const CHUNK = 500;

/** The subset of `ids` already ingested. */
export async function findIngested(db: Kysely<ReadModelSchema>, ids: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < ids.length; i += CHUNK) {
    const rows = await db.selectFrom('ingested_events').select('event_id').where('event_id', 'in', ids.slice(i, i + CHUNK)).execute();
    for (const r of rows) found.add(r.event_id);
  }
  return found;
}

export async function recordIngested(db: Kysely<ReadModelSchema>, rows: readonly { id: string; streamId: string }[], at: Date): Promise<void> {
  const recordedAt = at.toISOString();
  for (let i = 0; i < rows.length; i += CHUNK / 2) {
    const chunk = rows.slice(i, i + CHUNK / 2).map((r) => ({ event_id: r.id, stream_id: r.streamId, recorded_at: recordedAt }));
    await db.insertInto('ingested_events').values(chunk).onConflict((oc) => oc.column('event_id').doNothing()).execute();
  }
}
