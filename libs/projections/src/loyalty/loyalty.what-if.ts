/**
 * The loyalty what-if of a replay (docs/operations.md, "What-if"): "what if Gold started at 1,500
 * points?". The loyalty read model holds rule-free facts and the ledger is computed on read, so
 * the what-if computes every member's ledger twice over the replay's facts, as of its instant:
 * under the program versions in force (the `loyalty-program` stream, as known at `knownAt`) and
 * under the same versions with the what-if program in force from its `effectiveFrom` (default:
 * the start of the first version, i.e. instead of every version).
 *
 * Rules: `rules.loyalty` = `{ program, effectiveFrom? }`, exactly the body of
 * PUT /v1/loyalty/program, validated the same way (JSON-path errors under `rules.loyalty`).
 *
 * Answer: customers promoted and demoted per tier (from → to, counts and lists), the change in
 * points liability (pending, available; it equals the sum over the customers listed), the points
 * that would have expired, and the redemptions that would have been refused (those made with more
 * points than the what-if balance held available at that moment).
 */
import type { Kysely } from 'kysely';
import { BACKWARDS, END, FORWARDS, START, StreamNotFoundError, eventTypeFilter, type EventStoreDBClient } from '@eventstore/db-client';
import {
  ADJUSTED_TYPE,
  CairnError,
  ERROR_CODES,
  LOYALTY_PROGRAM_STREAM,
  PROGRAM_DEFINED_TYPE,
  REDEEMED_TYPE,
  asPerson,
  computeLedger,
  parseProgramChange,
  type AdjustedV1,
  type Ledger,
  type LoyaltyFact,
  type LoyaltyProgram,
  type ProgramDefinedV1,
  type ProgramVersion,
  type RedeemedV1,
} from '@cairn/domain';
import type { ReadModelSchema } from '@cairn/read-models';
import { firstOf, type WhatIfArea, type WhatIfContext } from '../ops/what-if';
import { loadLedgerFacts, loadOwnFacts, referralInvolved } from './loyalty.store';

export interface LoyaltyWhatIfRules {
  readonly program: LoyaltyProgram;
  readonly effectiveFrom: string | undefined;
}

/** One member (a person) whose answer differs. */
export interface LoyaltyChange {
  /** The person's id, as `GET /v1/loyalty/:id` answers it (`customerId` of the ledger). */
  readonly customerId: string;
  /** With more than one: every customer id of the person (merged ids), sorted. */
  readonly customerIds?: readonly string[];
  /** Tier names (null: no tier). */
  readonly from: string | null;
  readonly to: string | null;
  readonly pending: { readonly before: number; readonly after: number };
  readonly available: { readonly before: number; readonly after: number };
  readonly expired: { readonly before: number; readonly after: number };
}

export interface RefusedRedemption {
  readonly customerId: string;
  readonly redemptionId: string;
  readonly at: string;
  readonly points: number;
  /** What the what-if balance held available just before. */
  readonly availableThen: number;
}

/** Members whose facts are read per query. */
const STEP = 1000;

async function readStream<T>(client: EventStoreDBClient, stream: string, map: (e: { id: string; type: string; data: unknown }) => T | null): Promise<T[]> {
  const out: T[] = [];
  try {
    for await (const r of client.readStream(stream, { direction: FORWARDS, fromRevision: START })) {
      const e = r.event;
      if (!e) continue;
      const item = map({ id: e.id, type: e.type, data: e.data });
      if (item !== null) out.push(item);
    }
  } catch (err) {
    if (err instanceof StreamNotFoundError) return out;
    throw new CairnError(ERROR_CODES.UNAVAILABLE, `event store: ${err instanceof Error ? err.message : String(err)}`);
  }
  return out;
}

const knownBy = (knownAt: string | null, recordedAt: string) => knownAt === null || Date.parse(recordedAt) <= Date.parse(knownAt);

/** The program versions in force, as known at `knownAt`. */
async function liveVersions(client: EventStoreDBClient, knownAt: string | null): Promise<ProgramVersion[]> {
  const all = await readStream(client, LOYALTY_PROGRAM_STREAM, (e) => {
    if (e.type !== PROGRAM_DEFINED_TYPE) return null;
    const d = e.data as ProgramDefinedV1['data'];
    return { version: d.version, effectiveFrom: d.effectiveFrom, recordedAt: d.recordedAt, eventId: e.id, program: d.program };
  });
  return all.filter((v) => knownBy(knownAt, v.recordedAt));
}

/** The what-if versions: the live ones before `effectiveFrom`, then the what-if program. */
export function whatIfVersions(live: readonly ProgramVersion[], rules: LoyaltyWhatIfRules): ProgramVersion[] {
  const from = rules.effectiveFrom ?? live.reduce<string | null>((min, v) => (min === null || v.effectiveFrom < min ? v.effectiveFrom : min), null) ?? '1970-01-01T00:00:00.000Z';
  const kept = live.filter((v) => Date.parse(v.effectiveFrom) < Date.parse(from));
  const version = live.reduce((max, v) => Math.max(max, v.version), 0) + 1;
  return [...kept, { version, effectiveFrom: from, recordedAt: from, eventId: 'what-if', program: rules.program }];
}

const LOYALTY_STREAM = /^loyalty-(.+)$/;

/**
 * Every member's redemptions and adjustments (their `loyalty-<id>` streams), as known at `knownAt`,
 * in one pass: a subscription to `$all` filtered by the server to those two types, from the start
 * to the end of the log as it is now (caught up, or a checkpoint or event at the end).
 */
async function redemptionsByMember(client: EventStoreDBClient, knownAt: string | null): Promise<Map<string, LoyaltyFact[]>> {
  const out = new Map<string, LoyaltyFact[]>();
  let end = 0n;
  for await (const r of client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 })) end = r.event?.position?.commit ?? 0n;
  if (end === 0n) return out;
  const add = (customerId: string, f: LoyaltyFact) => (out.get(customerId) ?? out.set(customerId, []).get(customerId)!).push(f);
  await new Promise<void>((resolve, reject) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      void sub.unsubscribe().then(resolve, resolve);
    };
    const sub = client.subscribeToAll({
      fromPosition: START,
      filter: eventTypeFilter({ prefixes: [REDEEMED_TYPE, ADJUSTED_TYPE], checkpointInterval: 32, checkpointReached: (_s, position) => (position.commit >= end ? finish() : undefined) }),
    });
    sub.on('data', (r) => {
      const e = r.event;
      if (!e || finished) return;
      const customerId = LOYALTY_STREAM.exec(e.streamId)?.[1];
      if (customerId !== undefined) {
        if (e.type === ADJUSTED_TYPE) {
          const a = e.data as AdjustedV1['data'];
          if (knownBy(knownAt, a.occurredAt)) add(customerId, { kind: 'adjustment', id: e.id, customerId, occurredAt: a.occurredAt, receivedAt: a.occurredAt, points: a.points, reason: a.reason });
        } else if (e.type === REDEEMED_TYPE) {
          const d = e.data as RedeemedV1['data'];
          if (knownBy(knownAt, d.occurredAt)) add(customerId, { kind: 'redemption', id: e.id, customerId, occurredAt: d.occurredAt, receivedAt: d.occurredAt, points: d.points, ...(d.reference !== undefined ? { reference: d.reference } : {}) });
        }
      }
      if ((e.position?.commit ?? 0n) >= end) finish();
    });
    sub.on('caughtUp', finish);
    sub.on('error', (err) => (finished ? resolve() : reject(new CairnError(ERROR_CODES.UNAVAILABLE, `event store: ${err instanceof Error ? err.message : String(err)}`))));
  });
  return out;
}

/** Redemptions of `ledger` made with more points than were available at that moment. */
function refusedIn(ledger: Ledger, points: ReadonlyMap<string, number>): RefusedRedemption[] {
  const out: RefusedRedemption[] = [];
  let available = 0;
  for (const m of ledger.movements) {
    if (m.type === 'redeemed' && m.cause !== null && points.has(m.cause)) {
      const wanted = points.get(m.cause)!;
      if (wanted > available) out.push({ customerId: ledger.customerId, redemptionId: m.cause, at: m.at, points: wanted, availableThen: available });
    }
    available += m.available;
  }
  return out;
}

/** A tier's level (its place in its program's levels, lowest 0); -1 without a tier. */
const levelOf = (l: Ledger | null) => (l?.tier ? l.tier.level : -1);

/**
 * Members as persons (docs/identity.md): each customer id with facts, grouped under its person as
 * of the replay's instants (`persons`: customer id → person's id), ordered by person id.
 */
export function membersAsPersons(ids: readonly string[], persons: ReadonlyMap<string, string>): { personId: string; ids: string[] }[] {
  const byPerson = new Map<string, string[]>();
  for (const id of ids) {
    const personId = persons.get(id) ?? id;
    (byPerson.get(personId) ?? byPerson.set(personId, []).get(personId)!).push(id);
  }
  return [...byPerson.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([personId, list]) => ({ personId, ids: list.sort() }));
}

/** Members of the loyalty read model (customers with facts). */
async function members(db: Kysely<ReadModelSchema>): Promise<string[]> {
  const rows = await db.selectFrom('loyalty_facts').select('customer_id').distinct().orderBy('customer_id').execute();
  return rows.map((r) => r.customer_id);
}

export const loyaltyWhatIf: WhatIfArea<LoyaltyWhatIfRules> = {
  key: 'loyalty',
  reads: ['loyalty'],
  parse: (rules) => parseProgramChange(rules, 'rules.loyalty'),
  async compare(db, rules, context: WhatIfContext) {
    const client = context.events.client;
    const live = await liveVersions(client, context.knownAt);
    const alt = whatIfVersions(live, rules);
    const changes: LoyaltyChange[] = [];
    const promoted: LoyaltyChange[] = [];
    const demoted: LoyaltyChange[] = [];
    const refused: RefusedRedemption[] = [];
    const totals = { members: 0, pending: { before: 0, after: 0 }, available: { before: 0, after: 0 }, expired: { before: 0, after: 0 } };
    const persons = membersAsPersons(await members(db), context.persons ?? new Map());
    const redemptions = await redemptionsByMember(client, context.knownAt);
    // A member with a referral, a referral code used, or named as a friend needs other members'
    // facts too (loadLedgerFacts); everyone else only their own, read a thousand persons a query.
    const involved = await referralInvolved(db);
    for (let i = 0; i < persons.length; i += STEP) {
      const step = persons.slice(i, i + STEP);
      const own = await loadOwnFacts(db, step.flatMap((p) => p.ids.filter((id) => !involved.has(id))));
      const loaded = await Promise.all(
        step.map(async (p) => {
          const facts = (await Promise.all(p.ids.map(async (id) => (involved.has(id) ? loadLedgerFacts(db, id) : (own.get(id) ?? []))))).flat();
          return { ...p, facts, own: p.ids.flatMap((id) => redemptions.get(id) ?? []) };
        }),
      );
      for (const { personId, ids, facts, own } of loaded) {
        // The person's facts as the live ledger reads them (LoyaltyReader.ledger): every id's, as one person's.
        const all = asPerson(personId, new Set(ids), [...facts, ...own]);
        const before = live.length === 0 ? null : computeLedger(personId, all, live, context.at);
        const after = computeLedger(personId, all, alt, context.at);
        totals.members += 1;
        const b = { pending: before?.balance.pending ?? 0, available: before?.balance.available ?? 0, expired: before?.expired ?? 0, tier: before?.tier?.name ?? null };
        totals.pending.before += b.pending;
        totals.pending.after += after.balance.pending;
        totals.available.before += b.available;
        totals.available.after += after.balance.available;
        totals.expired.before += b.expired;
        totals.expired.after += after.expired;
        const redeemed = new Map(own.flatMap((f) => (f.kind === 'redemption' ? [[f.id, f.points] as const] : [])));
        // Redeemed for real (so accepted then): the what-if ones the balance would not have covered.
        const refusedNow = refusedIn(after, redeemed).filter((r) => !before || !refusedIn(before, redeemed).some((x) => x.redemptionId === r.redemptionId));
        refused.push(...refusedNow);
        const to = after.tier?.name ?? null;
        if (b.tier !== to || b.pending !== after.balance.pending || b.available !== after.balance.available || b.expired !== after.expired) {
          const change: LoyaltyChange = {
            customerId: personId,
            ...(ids.length > 1 ? { customerIds: ids } : {}),
            from: b.tier,
            to,
            pending: { before: b.pending, after: after.balance.pending },
            available: { before: b.available, after: after.balance.available },
            expired: { before: b.expired, after: after.expired },
          };
          changes.push(change);
          if (levelOf(after) > levelOf(before)) promoted.push(change);
          else if (levelOf(after) < levelOf(before)) demoted.push(change);
        }
      }
      // Timers and requests (the API, in the same thread) get their turn between steps.
      await new Promise((r) => setImmediate(r));
    }
    const perTier = (list: readonly LoyaltyChange[]) => Object.fromEntries([...new Set(list.map((c) => `${c.from ?? '(none)'} → ${c.to ?? '(none)'}`))].sort().map((k) => [k, list.filter((c) => `${c.from ?? '(none)'} → ${c.to ?? '(none)'}` === k).length]));
    const liability = {
      pending: { before: totals.pending.before, after: totals.pending.after, change: totals.pending.after - totals.pending.before },
      available: { before: totals.available.before, after: totals.available.after, change: totals.available.after - totals.available.before },
    };
    return {
      summary: {
        asOf: context.at,
        members: totals.members,
        programVersions: { live: live.map((v) => v.version), whatIf: { from: alt.at(-1)!.effectiveFrom, replaces: live.filter((v) => !alt.includes(v)).map((v) => v.version) } },
        promoted: { count: promoted.length, byTier: perTier(promoted), first: firstOf(promoted) },
        demoted: { count: demoted.length, byTier: perTier(demoted), first: firstOf(demoted) },
        liability,
        expired: { before: totals.expired.before, after: totals.expired.after, change: totals.expired.after - totals.expired.before },
        refusedRedemptions: { count: refused.length, points: refused.reduce((s, r) => s + r.points, 0), first: firstOf(refused) },
        changed: changes.length,
      },
      files: { promoted, demoted, changes, 'refused-redemptions': refused },
    };
  },
};
