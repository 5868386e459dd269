/**
 * Segment definitions are events (`cairn.segment.defined.v1` / `cairn.segment.deleted.v1` in the
 * stream `segment-<id>`, one event per version, appended with the expected revision so concurrent
 * edits conflict instead of overwriting); the `segments` table is their read model.
 */
import { randomUUID } from 'crypto';
import { NO_STREAM, WrongExpectedVersionError, jsonEvent } from '@eventstore/db-client';
import { CairnError, ERROR_CODES, parseCondition, type Condition } from '@cairn/domain';
import { eventStoreUnavailable, type CairnEventStore } from '@cairn/event-store';
import type { ReadStore, SegmentsTable } from '@cairn/read-models';
import { SEGMENT_DEFINED, SEGMENT_DELETED, dissolveSegment, segmentStream } from './segment-engine';

export interface SegmentDefinition {
  readonly id: string;
  readonly name: string;
  readonly version: number;
  readonly condition: Condition;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** False until every profile has been evaluated against this version. */
  readonly evaluated: boolean;
}

function toDefinition(r: SegmentsTable): SegmentDefinition {
  return {
    id: r.segment_id,
    name: r.name,
    version: Number(r.version),
    condition: JSON.parse(r.condition) as Condition,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    evaluated: Number(r.needs_sweep) === 0,
  };
}

/** Validates `{ name, condition }`; 400 naming every offending path. */
export function parseSegmentBody(body: unknown): { name: string; condition: Condition } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new CairnError(ERROR_CODES.VALIDATION, 'the body must be { name, condition }', { fields: [{ field: '', message: 'expected a JSON object' }] });
  }
  const b = body as Record<string, unknown>;
  const fields: { field: string; message: string }[] = [];
  for (const k of Object.keys(b)) if (k !== 'name' && k !== 'condition') fields.push({ field: k, message: 'unknown key (expected name, condition)' });
  if (typeof b.name !== 'string' || b.name.trim() === '' || b.name.length > 200) fields.push({ field: 'name', message: 'must be a non-empty string of at most 200 characters' });
  let condition: Condition | undefined;
  try {
    condition = parseCondition(b.condition);
  } catch (err) {
    if (!(err instanceof CairnError)) throw err;
    fields.push(...((err.details?.fields as { field: string; message: string }[]) ?? []));
  }
  if (fields.length > 0) throw new CairnError(ERROR_CODES.VALIDATION, `invalid segment: ${fields[0]!.field} ${fields[0]!.message}`, { fields });
  return { name: (b.name as string).trim(), condition: condition! };
}

async function append(events: CairnEventStore, segmentId: string, expected: bigint | typeof NO_STREAM, type: string, data: Record<string, unknown>): Promise<void> {
  try {
    await events.client.appendToStream(segmentStream(segmentId), jsonEvent({ id: randomUUID(), type, data: data as never }), { expectedRevision: expected });
  } catch (err) {
    if (err instanceof WrongExpectedVersionError) {
      throw new CairnError(ERROR_CODES.STREAM_CONFLICT, `segment ${segmentId} was changed concurrently; read it again and retry`, { segmentId });
    }
    throw eventStoreUnavailable(err);
  }
}

export async function getSegment(store: ReadStore, id: string): Promise<SegmentDefinition> {
  const row = await store.db.selectFrom('segments').selectAll().where('segment_id', '=', id).where('deleted', '=', 0).executeTakeFirst();
  if (!row) throw new CairnError(ERROR_CODES.NOT_FOUND, `no segment '${id}'`, { segmentId: id });
  return toDefinition(row);
}

export async function listSegments(store: ReadStore): Promise<SegmentDefinition[]> {
  const rows = await store.db.selectFrom('segments').selectAll().where('deleted', '=', 0).orderBy('created_at').orderBy('segment_id').execute();
  return rows.map(toDefinition);
}

export async function createSegment(store: ReadStore, events: CairnEventStore, def: { name: string; condition: Condition }, now: Date): Promise<SegmentDefinition> {
  const id = randomUUID();
  const at = now.toISOString();
  await append(events, id, NO_STREAM, SEGMENT_DEFINED, { segmentId: id, version: 1, name: def.name, condition: def.condition, definedAt: at });
  await store.transaction((trx) =>
    trx
      .insertInto('segments')
      .values({ segment_id: id, name: def.name, version: 1, condition: JSON.stringify(def.condition), created_at: at, updated_at: at, deleted: 0, needs_sweep: 1 })
      .execute(),
  );
  return getSegment(store, id);
}

export async function updateSegment(store: ReadStore, events: CairnEventStore, id: string, def: { name: string; condition: Condition }, now: Date): Promise<SegmentDefinition> {
  const current = await getSegment(store, id);
  const version = current.version + 1;
  const at = now.toISOString();
  await append(events, id, BigInt(current.version - 1), SEGMENT_DEFINED, { segmentId: id, version, name: def.name, condition: def.condition, definedAt: at });
  await store.transaction((trx) =>
    trx
      .updateTable('segments')
      .set({ name: def.name, version, condition: JSON.stringify(def.condition), updated_at: at, needs_sweep: 1 })
      .where('segment_id', '=', id)
      .execute(),
  );
  return getSegment(store, id);
}

/** Deletes the definition (an event); every member exits (appended to the members stream). */
export async function deleteSegment(store: ReadStore, events: CairnEventStore, id: string, now: Date): Promise<{ id: string; deleted: true; exited: number }> {
  const current = await getSegment(store, id);
  await append(events, id, BigInt(current.version - 1), SEGMENT_DELETED, { segmentId: id, version: current.version, deletedAt: now.toISOString() });
  await store.transaction((trx) => trx.updateTable('segments').set({ deleted: 1, updated_at: now.toISOString() }).where('segment_id', '=', id).execute());
  const exited = await dissolveSegment(store, id, current.version, now);
  return { id, deleted: true, exited };
}
