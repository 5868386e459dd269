/**
 * Erasure records (docs/privacy.md): PII-free, kept in the read store (`privacy_erasures`) and as a
 * `cairn.privacy.erased.v1` event in the stream `privacy-erasures` (the event id is the erasure id,
 * so recording it twice stores it once).
 */
import { jsonEvent } from '@eventstore/db-client';
import { CairnError, ERASURE_STREAM, ERROR_CODES, PRIVACY_ERASED } from '@cairn/domain';
import { eventStoreUnavailable } from '@cairn/event-store';
import type { PrivacyErasuresTable } from '@cairn/read-models';
import type { CairnRuntime } from '../runtime';

export const ERASURE_REASONS = ['data-subject-request', 'account-closed', 'legal-obligation', 'consent-withdrawn', 'other'] as const;
export type ErasureReason = (typeof ERASURE_REASONS)[number];

export interface ErasureRecord {
  readonly erasureId: string;
  /** The id the erasure was asked for. */
  readonly requested: { readonly customerId: string } | { readonly anonymousId: string };
  readonly reason: ErasureReason;
  /** The shop's own reference (a ticket id), if given. */
  readonly reference: string | null;
  /** Name of the API key that asked. */
  readonly actor: string;
  readonly erasedAt: string;
  /** Every id of the person whose keys were destroyed. */
  readonly customerIds: readonly string[];
  readonly anonymousIds: readonly string[];
  /** Fingerprints (SHA-256, 16 hex digits) of the data keys destroyed. */
  readonly keysDestroyed: readonly string[];
  /** Log position of the erasure's event; null until it is recorded there. */
  readonly position: string | null;
}

const CUSTOMER = 'customer-';
const VISITOR = 'visitor-';

export function idsOfSubjects(subjects: readonly string[]): { customerIds: string[]; anonymousIds: string[] } {
  return {
    customerIds: subjects.filter((s) => s.startsWith(CUSTOMER)).map((s) => s.slice(CUSTOMER.length)),
    anonymousIds: subjects.filter((s) => s.startsWith(VISITOR)).map((s) => s.slice(VISITOR.length)),
  };
}

export function toErasureRecord(row: PrivacyErasuresTable): ErasureRecord {
  return {
    erasureId: row.erasure_id,
    requested: row.requested_kind === 'visitor' ? { anonymousId: row.requested_id } : { customerId: row.requested_id },
    reason: row.reason as ErasureReason,
    reference: row.reference,
    actor: row.actor,
    erasedAt: row.erased_at,
    ...idsOfSubjects(JSON.parse(row.subjects) as string[]),
    keysDestroyed: JSON.parse(row.fingerprints) as string[],
    position: row.position,
  };
}

export async function getErasure(runtime: CairnRuntime, erasureId: string): Promise<ErasureRecord> {
  const row = await runtime.readStore.db.selectFrom('privacy_erasures').selectAll().where('erasure_id', '=', erasureId).executeTakeFirst();
  if (!row) throw new CairnError(ERROR_CODES.NOT_FOUND, `no erasure '${erasureId}'`, { erasureId });
  return toErasureRecord(row);
}

/** The erasures that covered any of `subjects`, oldest first. */
export async function erasuresOf(runtime: CairnRuntime, subjects: readonly string[]): Promise<ErasureRecord[]> {
  if (subjects.length === 0) return [];
  const ids = await runtime.readStore.db.selectFrom('privacy_keys').select('erasure_id').distinct().where('subject', 'in', [...subjects]).where('erasure_id', 'is not', null).execute();
  if (ids.length === 0) return [];
  const rows = await runtime.readStore.db
    .selectFrom('privacy_erasures')
    .selectAll()
    .where('erasure_id', 'in', ids.map((r) => r.erasure_id!))
    .orderBy('erased_at')
    .execute();
  return rows.map(toErasureRecord);
}

/** Appends the erasure's PII-free event (idempotent: its id is the erasure id) and stores its position. */
export async function recordErasureEvent(runtime: CairnRuntime, record: ErasureRecord): Promise<ErasureRecord> {
  const { position: _p, ...data } = record;
  let commit: bigint | undefined;
  try {
    const r = await runtime.events.client.appendToStream(ERASURE_STREAM, jsonEvent({ id: record.erasureId, type: PRIVACY_ERASED, data: data as never }));
    commit = r.position?.commit;
  } catch (err) {
    throw eventStoreUnavailable(err);
  }
  const position = commit === undefined ? null : commit.toString();
  await runtime.readStore.db.updateTable('privacy_erasures').set({ position }).where('erasure_id', '=', record.erasureId).execute();
  return { ...record, position };
}
