/**
 * Reads what a loyalty ledger is computed from: the program versions (the `loyalty-program`
 * stream, cached and read forward), the person's redemptions (the `loyalty-<id>` stream of each of
 * their customer ids; the person's own id's stream, with its revision, is where new ones go) and
 * the facts of every customer id of the person (the loyalty read model).
 *
 * Identity (docs/identity.md): a customer id resolves to its person on every read, the way
 * profiles do, so a merge combines the ledgers at once (points, tier history, referrals: one
 * between two merged ids is a self-referral and withheld) and an unmerge splits them again exactly
 * as they were; each active merge shows in `corrections` with the merge as its cause.
 */
import { Inject, Injectable } from '@nestjs/common';
import { FORWARDS, START, StreamNotFoundError, type EventStoreDBClient } from '@eventstore/db-client';
import {
  CairnError,
  ERROR_CODES,
  ADJUSTED_TYPE,
  LOYALTY_PROGRAM_STREAM,
  PROGRAM_DEFINED_TYPE,
  REDEEMED_TYPE,
  asPerson,
  computeLedger,
  loyaltyStreamFor,
  type AdjustedV1,
  type AdjustmentFact,
  type Correction,
  type Ledger,
  type LoyaltyFact,
  type ProgramDefinedV1,
  type ProgramVersion,
  type RedeemedV1,
  type RedemptionFact,
} from '@cairn/domain';
import { loadLedgerFacts, resolveCustomer } from '@cairn/projections';
import { RUNTIME, type CairnRuntime } from '../runtime';

export interface StreamRead<T> {
  readonly items: T[];
  /** Revision of the last event, or null when the stream does not exist. */
  readonly revision: bigint | null;
}

export async function readStream<T>(client: EventStoreDBClient, stream: string, from: bigint | null, map: (e: { id: string; type: string; data: unknown }) => T | null): Promise<StreamRead<T>> {
  const items: T[] = [];
  let revision: bigint | null = from === null ? null : from - 1n;
  try {
    const read = client.readStream(stream, { direction: FORWARDS, fromRevision: from ?? START });
    for await (const r of read) {
      const e = r.event;
      if (!e) continue;
      revision = e.revision;
      const item = map({ id: e.id, type: e.type, data: e.data });
      if (item !== null) items.push(item);
    }
  } catch (err) {
    if (err instanceof StreamNotFoundError) return { items, revision: from === null ? null : revision };
    const message = err instanceof Error ? err.message : String(err);
    throw new CairnError(ERROR_CODES.UNAVAILABLE, `event store: ${message}`);
  }
  return { items, revision };
}

/** A fact of the customer's loyalty stream: a redemption or a manual adjustment. */
export function redemptionOf(customerId: string, e: { id: string; type: string; data: unknown }): RedemptionFact | AdjustmentFact | null {
  if (e.type === ADJUSTED_TYPE) {
    const a = e.data as AdjustedV1['data'];
    return { kind: 'adjustment', id: e.id, customerId, occurredAt: a.occurredAt, receivedAt: a.occurredAt, points: a.points, reason: a.reason };
  }
  if (e.type !== REDEEMED_TYPE) return null;
  const d = e.data as RedeemedV1['data'];
  return { kind: 'redemption', id: e.id, customerId, occurredAt: d.occurredAt, receivedAt: d.occurredAt, points: d.points, ...(d.reference !== undefined ? { reference: d.reference } : {}) };
}

/** `?asOf=`: an ISO-8601 instant with offset; now when absent. */
export function parseAsOf(value: unknown, now = new Date()): string {
  if (value === undefined || value === '') return now.toISOString();
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(value) || !Number.isFinite(Date.parse(value))) {
    throw new CairnError(ERROR_CODES.VALIDATION, 'asOf must be an ISO-8601 instant with an offset', { fields: [{ field: 'asOf', message: 'must be an ISO-8601 instant with an offset, e.g. 2026-11-28T10:00:00Z' }] });
  }
  return new Date(value).toISOString();
}

/** A program version PUT through another API process is seen within this long. */
export const PROGRAM_CACHE_MS = 1000;

@Injectable()
export class LoyaltyReader {
  private versions: ProgramVersion[] = [];
  private programRevision: bigint | null = null;
  private inflight: Promise<void> | null = null;
  private refreshedAt = -Infinity;

  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  /**
   * Every program version, read forward from the last one seen. Reused for PROGRAM_CACHE_MS (a
   * stream read is a third of a ledger query); `fresh` reads now (the PUT path, to version exactly).
   */
  async programs(opts: { fresh?: boolean } = {}): Promise<{ versions: readonly ProgramVersion[]; revision: bigint | null }> {
    const cached = () => ({ versions: this.versions, revision: this.programRevision });
    if (!opts.fresh && Date.now() - this.refreshedAt < PROGRAM_CACHE_MS) return cached();
    // Concurrent callers share the read in flight (only a `fresh` caller needs one that starts after it).
    if (!opts.fresh && this.inflight !== null) {
      await this.inflight;
      return cached();
    }
    const run = (this.inflight ?? Promise.resolve()).catch(() => undefined).then(() => this.refresh());
    this.inflight = run;
    try {
      await run;
    } finally {
      if (this.inflight === run) this.inflight = null;
    }
    return cached();
  }

  private async refresh(): Promise<void> {
    const started = Date.now();
    const from = this.programRevision === null ? null : this.programRevision + 1n;
    const read = await readStream(this.runtime.events.client, LOYALTY_PROGRAM_STREAM, from, (e) => {
      if (e.type !== PROGRAM_DEFINED_TYPE) return null;
      const d = e.data as ProgramDefinedV1['data'];
      return { version: d.version, effectiveFrom: d.effectiveFrom, recordedAt: d.recordedAt, eventId: e.id, program: d.program };
    });
    this.versions = [...this.versions, ...read.items];
    this.programRevision = read.revision;
    this.refreshedAt = started;
  }

  /** The customer's loyalty stream: redemptions and adjustments, with the stream revision. */
  async redemptions(customerId: string): Promise<StreamRead<RedemptionFact | AdjustmentFact>> {
    return readStream(this.runtime.events.client, loyaltyStreamFor(customerId), null, (e) => redemptionOf(customerId, e));
  }

  /** The person a customer id belongs to: its canonical id (the ledger's `customerId`), every customer id of theirs, the active merges. */
  async person(customerId: string): Promise<{ personId: string; ids: string[]; merges: { mergeId: string; mergedId: string; survivorId: string }[] }> {
    const identity = await resolveCustomer(this.runtime.readStore.db, customerId, this.runtime.config.identitySharedDeviceLimit);
    return { personId: identity?.customerId ?? customerId, ids: identity ? [...identity.customerIds] : [customerId], merges: identity ? [...identity.merges] : [] };
  }

  /**
   * The person's ledgers at several instants from one read of their facts, with when each loyalty
   * fact was received (the webhook signals: tier.changed, points.earned, points.expiring); null
   * without a program or without any loyalty activity. Identity merges are applied, not explained.
   */
  async ledgersAt(customerId: string, asOfs: readonly string[]): Promise<{ personId: string; at: Map<string, Ledger>; receivedAt: Map<string, string> } | null> {
    const { personId, ids } = await this.person(customerId);
    const db = this.runtime.readStore.db;
    const [{ versions }, streams, facts] = await Promise.all([
      this.programs(),
      Promise.all(ids.map((id) => this.redemptions(id))),
      Promise.all(ids.map((id) => loadLedgerFacts(db, id))).then((lists) => lists.flat()),
    ]);
    const idSet = new Set(ids);
    const redemptions = streams.flatMap((r) => r.items);
    if (versions.length === 0 || (redemptions.length === 0 && !facts.some((f) => idSet.has(f.customerId)))) return null;
    const all = asPerson(personId, idSet, [...facts, ...redemptions]);
    return {
      personId,
      at: new Map(asOfs.map((asOf) => [asOf, computeLedger(personId, all, versions, asOf)])),
      receivedAt: new Map(facts.filter((f) => idSet.has(f.customerId)).map((f) => [f.id, f.receivedAt])),
    };
  }

  /**
   * The person's ledger as of `asOf`; 404 without a program or without any loyalty activity.
   * `revision` and `stream` are those of the person's own loyalty stream, where a redemption or an
   * adjustment is appended (optimistic concurrency on it).
   */
  async ledger(customerId: string, asOf: string, opts: { allowEmpty?: boolean } = {}): Promise<{ ledger: Ledger; personId: string; stream: string; revision: bigint | null; redemptionIds: Set<string> }> {
    const { personId, ids, merges } = await this.person(customerId);
    const db = this.runtime.readStore.db;
    const [{ versions }, streams, facts] = await Promise.all([
      this.programs(),
      Promise.all(ids.map((id) => this.redemptions(id))),
      Promise.all(ids.map((id) => loadLedgerFacts(db, id))).then((lists) => lists.flat()),
    ]);
    if (versions.length === 0) throw new CairnError(ERROR_CODES.NOT_FOUND, 'no loyalty program is defined yet: PUT /v1/loyalty/program');
    const redemptions = streams.flatMap((r) => r.items);
    const idSet = new Set(ids);
    if (!opts.allowEmpty && redemptions.length === 0 && !facts.some((f) => idSet.has(f.customerId))) {
      throw new CairnError(ERROR_CODES.NOT_FOUND, `no loyalty activity for customer '${customerId}'`, { customerId });
    }
    const all = [...facts, ...redemptions];
    const ledger = computeLedger(personId, asPerson(personId, idSet, all), versions, asOf);
    const corrections = await this.mergeCorrections(personId, idSet, all, versions, asOf, merges);
    const own = streams[ids.indexOf(personId)] ?? { items: [], revision: null };
    return {
      ledger: corrections.length === 0 ? ledger : { ...ledger, corrections: [...ledger.corrections, ...corrections].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)) },
      personId,
      stream: loyaltyStreamFor(personId),
      revision: own.revision,
      redemptionIds: new Set(redemptions.map((r) => r.id)),
    };
  }

  /**
   * Each active merge as a correction, at the instant it was requested: what it changes in this
   * answer (the ledger as of `asOf` without the merged id against the one with it). Identity applies
   * to every as-of instant, so a merge made later changes an earlier answer too, and says so.
   */
  private async mergeCorrections(personId: string, ids: Set<string>, facts: LoyaltyFact[], versions: readonly ProgramVersion[], asOf: string, merges: { mergeId: string; mergedId: string }[]): Promise<Correction[]> {
    if (merges.length === 0) return [];
    const rows = await this.runtime.readStore.db.selectFrom('identity_merges').select(['merge_id', 'requested_at']).where('merge_id', 'in', merges.map((m) => m.mergeId)).execute();
    const at = new Map(rows.map((r) => [r.merge_id, new Date(r.requested_at).toISOString()]));
    const out: Correction[] = [];
    for (const m of merges) {
      const when = at.get(m.mergeId);
      if (when === undefined || !ids.has(m.mergedId)) continue;
      const without = new Set([...ids].filter((id) => id !== m.mergedId));
      const before = computeLedger(personId, asPerson(personId, without, facts.filter((f) => f.customerId !== m.mergedId)), versions, asOf);
      const after = computeLedger(personId, asPerson(personId, ids, facts), versions, asOf);
      const tierBefore = before.tier?.name ?? null;
      const tierAfter = after.tier?.name ?? null;
      out.push({
        at: when,
        cause: m.mergeId,
        causes: [m.mergeId],
        kind: `identity merge of ${m.mergedId}`,
        pending: after.balance.pending - before.balance.pending,
        available: after.balance.available - before.balance.available,
        lifetimeEarned: after.lifetimeEarned - before.lifetimeEarned,
        tier: tierBefore !== tierAfter ? { from: tierBefore, to: tierAfter } : null,
      });
    }
    return out;
  }
}
