/**
 * Parked (poison) events: an event a projection threw on while live is stored here with the error
 * and the projection version, and the projection carries on. After a fix, `retryParked` applies
 * them again, each in its own transaction; arrival order never changes a read model, so applying
 * a parked event late gives the same rows as applying it in place.
 */
import type { Kysely, Transaction } from 'kysely';
import type { RecordedCairnEvent } from '@cairn/domain';
import type { ReadModelSchema, ReadStore } from '@cairn/read-models';
import type { Projection } from '../projection';

export interface ParkedEvent {
  readonly projection: string;
  readonly projectionVersion: number;
  readonly eventId: string;
  readonly position: string;
  readonly streamId: string;
  readonly type: string;
  readonly error: string;
  readonly parkedAt: string;
  readonly attempts: number;
  readonly event: RecordedCairnEvent;
}

export function serializeEvent(e: RecordedCairnEvent): string {
  return JSON.stringify({ ...e, revision: e.revision.toString(), position: e.position.toString() });
}

export function deserializeEvent(json: string): RecordedCairnEvent {
  const raw = JSON.parse(json) as Omit<RecordedCairnEvent, 'revision' | 'position'> & { revision: string; position: string };
  return { ...raw, revision: BigInt(raw.revision), position: BigInt(raw.position) } as RecordedCairnEvent;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Stores (or re-stores) a poison event. Call inside the transaction that moves the checkpoint past it. */
export async function parkEvent(trx: Transaction<ReadModelSchema>, projection: Projection, event: RecordedCairnEvent, error: string): Promise<void> {
  await trx
    .insertInto('parked_events')
    .values({
      projection: projection.name,
      event_id: event.id,
      position: event.position.toString(),
      stream_id: event.streamId,
      event_type: event.type,
      event: serializeEvent(event),
      error: error.slice(0, 4000),
      projection_version: projection.version,
      parked_at: new Date().toISOString(),
      attempts: 1,
    })
    .onConflict((oc) =>
      oc.columns(['projection', 'event_id']).doUpdateSet((eb) => ({
        error: eb.ref('excluded.error'),
        projection_version: eb.ref('excluded.projection_version'),
        attempts: eb('parked_events.attempts', '+', 1),
        retry_requested_at: null,
      })),
    )
    .execute();
}

export async function listParked(db: Kysely<ReadModelSchema>, opts: { projection?: string; limit?: number } = {}): Promise<ParkedEvent[]> {
  let q = db.selectFrom('parked_events').selectAll().orderBy('projection').orderBy('parked_at').orderBy('event_id');
  if (opts.projection !== undefined) q = q.where('projection', '=', opts.projection);
  if (opts.limit !== undefined) q = q.limit(opts.limit);
  const rows = await q.execute();
  return rows.map((r) => ({
    projection: r.projection,
    projectionVersion: Number(r.projection_version),
    eventId: r.event_id,
    position: String(r.position),
    streamId: r.stream_id,
    type: r.event_type,
    error: r.error,
    parkedAt: r.parked_at,
    attempts: Number(r.attempts),
    event: deserializeEvent(r.event),
  }));
}

export async function countParked(db: Kysely<ReadModelSchema>): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('parked_events')
    .select((eb) => ['projection', eb.fn.countAll().as('n')])
    .groupBy('projection')
    .execute();
  return new Map(rows.map((r) => [r.projection, Number(r.n)]));
}

export interface RetryResult {
  readonly projection: string;
  readonly retried: number;
  /** Marked for retry by the process running the projection (when it runs elsewhere). */
  readonly requested?: number;
  readonly stillFailing: { eventId: string; error: string }[];
}

/**
 * From a process that does not run the projection engine: marks parked events for retry. The
 * process that runs the projection (its in-memory state must see every change it folds) picks
 * the marks up within seconds and retries them there.
 */
export async function requestRetry(store: ReadStore, projection: Projection, eventIds?: readonly string[]): Promise<RetryResult> {
  let q = store.db.updateTable('parked_events').set({ retry_requested_at: new Date().toISOString() }).where('projection', '=', projection.name);
  if (eventIds !== undefined) q = q.where('event_id', 'in', eventIds.length > 0 ? [...eventIds] : ['']);
  const res = await q.executeTakeFirst();
  return { projection: projection.name, retried: 0, requested: Number(res.numUpdatedRows), stillFailing: [] };
}

/** Parked events marked for retry by another process, per projection. */
export async function retryRequests(db: Kysely<ReadModelSchema>, projections: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (projections.length === 0) return out;
  const rows = await db.selectFrom('parked_events').select(['projection', 'event_id']).where('projection', 'in', [...projections]).where('retry_requested_at', 'is not', null).execute();
  for (const r of rows) out.set(r.projection, [...(out.get(r.projection) ?? []), r.event_id]);
  return out;
}
