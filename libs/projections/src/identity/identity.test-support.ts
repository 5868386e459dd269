/** Helpers for the identity specs: recorded events from inputs (ingest and admin), and a byte dump of the tables. */
import { randomUUID } from 'crypto';
import { IDENTITY_STREAM, streamFor, toStoredEvent, type Condition, type EventInput, type IdentityEvent, type RecordedCairnEvent } from '@cairn/domain';
import type { ReadStore } from '@cairn/read-models';
import type { RecordedIdentityEvent } from '../projection';

/** One log for every recorded event, ingest and admin: positions increase in the order they are recorded. */
let position = 0n;
export function record(input: EventInput, id: string = randomUUID()): RecordedCairnEvent {
  const e = toStoredEvent(input);
  position += 1n;
  return { id, type: e.type, data: e.data, metadata: { receivedAt: input.occurredAt, correlationId: 't' }, streamId: streamFor(input), revision: 0n, position } as RecordedCairnEvent;
}

/** An admin merge/unmerge as read from the log (stream `identity-merges`), at the next log position. */
let adminRevision = 0n;
export function recordAdmin(e: IdentityEvent, id: string = randomUUID()): RecordedIdentityEvent {
  position += 1n;
  return { id, type: e.type, data: e.data, streamId: IDENTITY_STREAM, revision: adminRevision++, position };
}

export async function dump(store: ReadStore): Promise<string> {
  const db = store.db;
  const tables = {
    profiles: await db.selectFrom('profiles').selectAll().orderBy('customer_id').execute(),
    sources: await db.selectFrom('identity_sources').selectAll().orderBy('source_id').execute(),
    links: await db.selectFrom('identity_links').selectAll().orderBy('anonymous_id').orderBy('customer_id').execute(),
    merges: await db.selectFrom('identity_merges').selectAll().orderBy('merge_id').execute(),
    lookup: await db.selectFrom('customer_lookup').selectAll().orderBy('customer_id').execute(),
    members: await db.selectFrom('segment_members').selectAll().orderBy('segment_id').orderBy('customer_id').execute(),
  };
  return JSON.stringify(tables);
}


export async function defineSegmentRow(store: ReadStore, id: string, condition: Condition): Promise<void> {
  await store.transaction((trx) =>
    trx
      .insertInto('segments')
      .values({ segment_id: id, name: id, version: 1, condition: JSON.stringify(condition), created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z', deleted: 0, needs_sweep: 1 })
      .execute(),
  );
}

