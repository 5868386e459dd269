/**
 * Projection checkpoints: one row per projection. Write a checkpoint in the SAME transaction as the
 * rows it covers, so a crash at any instant neither loses nor double-counts events.
 */
import { sql, type Kysely } from 'kysely';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import type { ReadModelSchema } from './schema';

const U64_MAX = (1n << 64n) - 1n;

export interface CheckpointInfo {
  projection: string;
  position: bigint;
  eventsProcessed: number;
  updatedAt: string;
}

export async function readCheckpoint(db: Kysely<ReadModelSchema>, projection: string): Promise<bigint | null> {
  const row = await db.selectFrom('checkpoints').select('position').where('projection', '=', projection).executeTakeFirst();
  return row === undefined ? null : BigInt(row.position);
}

/** Upsert; stores updated_at and adds `eventsProcessed` to the projection's running total. */
export async function writeCheckpoint(trx: Kysely<ReadModelSchema>, projection: string, position: bigint, eventsProcessed: number): Promise<void> {
  if (typeof position !== 'bigint' || position < 0n || position > U64_MAX) {
    throw new CairnError(ERROR_CODES.VALIDATION, `checkpoint position must be an unsigned 64-bit bigint, got ${String(position)}`);
  }
  if (!Number.isSafeInteger(eventsProcessed) || eventsProcessed < 0) {
    throw new CairnError(ERROR_CODES.VALIDATION, `eventsProcessed must be a non-negative safe integer, got ${eventsProcessed}`);
  }
  if (projection === '') throw new CairnError(ERROR_CODES.VALIDATION, 'projection name must not be empty');
  await trx
    .insertInto('checkpoints')
    .values({ projection, position: position.toString(), events_processed: eventsProcessed, updated_at: new Date().toISOString() })
    .onConflict((oc) =>
      oc.column('projection').doUpdateSet((eb) => ({
        position: eb.ref('excluded.position'),
        events_processed: eb('checkpoints.events_processed', '+', eb.ref('excluded.events_processed')),
        updated_at: eb.ref('excluded.updated_at'),
      })),
    )
    .execute();
}

export async function listCheckpoints(db: Kysely<ReadModelSchema>): Promise<CheckpointInfo[]> {
  const rows = await db.selectFrom('checkpoints').selectAll().orderBy('projection').execute();
  return rows.map((r) => ({
    projection: r.projection,
    position: BigInt(r.position),
    eventsProcessed: Number(r.events_processed),
    updatedAt: r.updated_at,
  }));
}

/** Records a finished bulk import that appended events (`position`: the highest commit it reached). */
export async function recordImport(db: Kysely<ReadModelSchema>, i: { importId: string; finishedAt: Date; lines: number; accepted: number; position: bigint }): Promise<void> {
  await db
    .insertInto('imports')
    .values({ import_id: i.importId, finished_at: i.finishedAt.toISOString(), lines: i.lines, accepted: i.accepted, position: i.position.toString() })
    .onConflict((oc) => oc.column('import_id').doNothing())
    .execute();
}

/** The highest position any recorded import reached, null when none is recorded. */
export async function lastImportPosition(db: Kysely<ReadModelSchema>): Promise<bigint | null> {
  // Decimal strings without leading zeros: longer is larger, and equal lengths compare as text.
  const row = await db.selectFrom('imports').select('position').orderBy(sql`length(position)`, 'desc').orderBy('position', 'desc').limit(1).executeTakeFirst();
  return row === undefined ? null : BigInt(row.position);
}
