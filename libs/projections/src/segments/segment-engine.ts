/**
 * Rule-based segment membership.
 *
 * Membership is a pure function of (profile, condition, asOf). It is kept current in two ways:
 *  - on each event: the profile projection marks the persons it changed dirty (same transaction as
 *    the profile); `evaluateDirty` re-evaluates them against every segment within moments;
 *  - as time passes: `sweepSegments` re-evaluates every profile (rolling windows flip without any
 *    new event), on a schedule and right after a segment is defined or changed.
 * Both read and write in short transactions page by page, so a sweep over 100k customers never
 * holds the write lock long enough to stall ingestion or the projector. Every change is written to
 * an outbox in the same transaction as the membership row, and `publishOutbox` appends it to the
 * segment's stream in EventStoreDB (`segment-members-<id>`: cairn.segment.entered.v1 / exited.v1),
 * at least once, with stable event ids so a retried append is a no-op.
 */
import { randomUUID } from 'crypto';
import { FORWARDS, START, StreamNotFoundError, jsonEvent } from '@eventstore/db-client';
import type { Kysely } from 'kysely';
import { CairnError, ERROR_CODES, evaluateCondition, type Condition, type LifecycleRules, type MembershipChange, type Profile } from '@cairn/domain';
import type { CairnEventStore } from '@cairn/event-store';
import { decodeCursor, encodeCursor, loadProfiles, type ReadModelSchema, type ReadStore } from '@cairn/read-models';

export const SEGMENT_ENTERED = 'cairn.segment.entered.v1';
export const SEGMENT_EXITED = 'cairn.segment.exited.v1';
export const SEGMENT_DEFINED = 'cairn.segment.defined.v1';
export const SEGMENT_DELETED = 'cairn.segment.deleted.v1';
export const segmentStream = (segmentId: string) => `segment-${segmentId}`;
export const segmentMembersStream = (segmentId: string) => `segment-members-${segmentId}`;

export interface SegmentContext {
  readonly asOf: Date;
  readonly lifecycle?: LifecycleRules;
}

interface ActiveSegment {
  readonly id: string;
  readonly version: number;
  readonly condition: Condition;
}

const PAGE = 2000;
const CHUNK = 500;
let seqCounter = 0;

function nextSeq(): string {
  seqCounter = (seqCounter + 1) % 1_000_000_000;
  return `${Date.now().toString().padStart(15, '0')}-${String(seqCounter).padStart(9, '0')}-${randomUUID().slice(0, 8)}`;
}

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function activeSegments(db: Kysely<ReadModelSchema>, ids?: readonly string[]): Promise<ActiveSegment[]> {
  let q = db.selectFrom('segments').select(['segment_id', 'version', 'condition']).where('deleted', '=', 0).orderBy('segment_id');
  if (ids !== undefined) q = q.where('segment_id', 'in', ids.length > 0 ? [...ids] : ['']);
  const rows = await q.execute();
  return rows.map((r) => ({ id: r.segment_id, version: Number(r.version), condition: JSON.parse(r.condition) as Condition }));
}

/** Marks persons for re-evaluation (called by the profile projection inside its transaction). */
export async function markSegmentsDirty(trx: Kysely<ReadModelSchema>, customerIds: readonly string[]): Promise<void> {
  if (customerIds.length === 0) return;
  const any = await trx.selectFrom('segments').select('segment_id').where('deleted', '=', 0).limit(1).executeTakeFirst();
  if (!any) return;
  for (const part of chunks([...new Set(customerIds)])) {
    await trx
      .insertInto('segment_dirty')
      .values(part.map((customer_id) => ({ customer_id, token: randomUUID() })))
      .onConflict((oc) => oc.column('customer_id').doUpdateSet((eb) => ({ token: eb.ref('excluded.token') })))
      .execute();
  }
}

/** Applies the target membership of `customerIds` (target: ids that match) for one segment. */
async function reconcile(
  trx: Kysely<ReadModelSchema>,
  segment: ActiveSegment,
  customerIds: readonly string[],
  matching: ReadonlySet<string>,
  at: string,
): Promise<number> {
  if (customerIds.length === 0) return 0;
  const current = new Set(
    (await trx.selectFrom('segment_members').select('customer_id').where('segment_id', '=', segment.id).where('customer_id', 'in', [...customerIds]).execute()).map(
      (r) => r.customer_id,
    ),
  );
  const entered = customerIds.filter((c) => matching.has(c) && !current.has(c));
  const exited = customerIds.filter((c) => !matching.has(c) && current.has(c));
  for (const part of chunks(entered)) {
    await trx.insertInto('segment_members').values(part.map((customer_id) => ({ segment_id: segment.id, customer_id, since: at }))).execute();
  }
  for (const part of chunks(exited)) {
    await trx.deleteFrom('segment_members').where('segment_id', '=', segment.id).where('customer_id', 'in', part).execute();
  }
  const outbox = [
    ...entered.map((customerId) => ({ type: SEGMENT_ENTERED, customerId })),
    ...exited.map((customerId) => ({ type: SEGMENT_EXITED, customerId })),
  ].map((c) => ({
    seq: nextSeq(),
    event_id: randomUUID(),
    segment_id: segment.id,
    type: c.type,
    data: JSON.stringify({ segmentId: segment.id, segmentVersion: segment.version, customerId: c.customerId, at }),
  }));
  for (const part of chunks(outbox, 200)) await trx.insertInto('segment_outbox').values(part).execute();
  return entered.length + exited.length;
}

/** Re-evaluates dirty persons against every segment; returns the persons processed. */
export async function evaluateDirty(store: ReadStore, ctx: SegmentContext, limit = PAGE): Promise<number> {
  return store.transaction(async (trx) => {
    const dirty = await trx.selectFrom('segment_dirty').select(['customer_id', 'token']).orderBy('customer_id').limit(limit).execute();
    if (dirty.length === 0) return 0;
    const ids = dirty.map((d) => d.customer_id);
    const profiles = await loadProfiles(trx, ids);
    const at = ctx.asOf.toISOString();
    for (const segment of await activeSegments(trx)) {
      const matching = new Set(ids.filter((id) => profiles.has(id) && evaluateCondition(segment.condition, profiles.get(id)!, ctx)));
      await reconcile(trx, segment, ids, matching, at);
    }
    for (const d of dirty) {
      await trx.deleteFrom('segment_dirty').where('customer_id', '=', d.customer_id).where('token', '=', d.token).execute();
    }
    return dirty.length;
  });
}

/**
 * Re-evaluates every profile against the given segments (default: all), page by page; members
 * whose profile is gone (merged away) exit. Clears `needs_sweep`. Returns the membership changes.
 */
export async function sweepSegments(store: ReadStore, ctx: SegmentContext, segmentIds?: readonly string[]): Promise<number> {
  const segments = await activeSegments(store.db, segmentIds);
  if (segments.length === 0) return 0;
  const at = ctx.asOf.toISOString();
  const versions = new Map(segments.map((s) => [s.id, s.version]));
  let changes = 0;
  let after: string | null = null;
  for (;;) {
    let q = store.db.selectFrom('profiles').select(['customer_id', 'doc']).orderBy('customer_id').limit(PAGE);
    if (after !== null) q = q.where('customer_id', '>', after);
    const rows = await q.execute();
    if (rows.length === 0) break;
    const ids = rows.map((r) => r.customer_id);
    const profiles = rows.map((r) => JSON.parse(r.doc) as Profile);
    const matches = segments.map((s) => new Set(profiles.filter((p) => evaluateCondition(s.condition, p, ctx)).map((p) => p.customerId)));
    changes += await store.transaction(async (trx) => {
      let n = 0;
      for (let i = 0; i < segments.length; i++) n += await reconcile(trx, segments[i]!, ids, matches[i]!, at);
      return n;
    });
    after = ids[ids.length - 1]!;
    if (rows.length < PAGE) break;
    await new Promise((r) => setImmediate(r));
  }
  // Members without a profile any more.
  for (const s of segments) {
    const orphans = await store.db
      .selectFrom('segment_members')
      .select('customer_id')
      .where('segment_id', '=', s.id)
      .where((eb) => eb.not(eb.exists(eb.selectFrom('profiles').select('customer_id').whereRef('profiles.customer_id', '=', 'segment_members.customer_id'))))
      .execute();
    for (const part of chunks(orphans.map((o) => o.customer_id))) changes += await store.transaction((trx) => reconcile(trx, s, part, new Set(), at));
  }
  await store.transaction(async (trx) => {
    for (const s of segments) {
      // Only if the definition did not change meanwhile.
      await trx.updateTable('segments').set({ needs_sweep: 0 }).where('segment_id', '=', s.id).where('version', '=', versions.get(s.id)!).execute();
    }
  });
  return changes;
}

/** Segments defined or changed and not yet swept. */
export async function segmentsNeedingSweep(db: Kysely<ReadModelSchema>): Promise<string[]> {
  return (await db.selectFrom('segments').select('segment_id').where('deleted', '=', 0).where('needs_sweep', '=', 1).execute()).map((r) => r.segment_id);
}

/** Appends pending membership changes to their segments' streams; returns how many. */
export async function publishOutbox(store: ReadStore, events: CairnEventStore, limit = 500): Promise<number> {
  const rows = await store.db.selectFrom('segment_outbox').selectAll().orderBy('seq').limit(limit).execute();
  if (rows.length === 0) return 0;
  const bySegment = new Map<string, typeof rows>();
  for (const r of rows) {
    const list = bySegment.get(r.segment_id) ?? [];
    list.push(r);
    bySegment.set(r.segment_id, list);
  }
  for (const [segmentId, list] of bySegment) {
    await events.client.appendToStream(
      segmentMembersStream(segmentId),
      list.map((r) => jsonEvent({ id: r.event_id, type: r.type, data: JSON.parse(r.data) as never })),
    );
  }
  await store.transaction(async (trx) => {
    for (const part of chunks(rows.map((r) => r.seq))) await trx.deleteFrom('segment_outbox').where('seq', 'in', part).execute();
  });
  return rows.length;
}

/**
 * Every membership change of a segment, oldest first: the segment's stream in EventStoreDB plus the
 * changes still in the outbox (not yet published). The outbox is read first, then the stream, and
 * the two are merged by event id: a change published in between is in both and counted once, so
 * the history always holds every change the membership rows reflect.
 */
export async function segmentMembershipHistory(store: ReadStore, events: CairnEventStore, segmentId: string): Promise<MembershipChange[]> {
  const pending = await store.db.selectFrom('segment_outbox').select(['event_id', 'type', 'data', 'seq']).where('segment_id', '=', segmentId).orderBy('seq').execute();
  const seen = new Set<string>();
  const out: MembershipChange[] = [];
  const add = (id: string, type: string, data: unknown) => {
    if (seen.has(id) || (type !== SEGMENT_ENTERED && type !== SEGMENT_EXITED)) return;
    seen.add(id);
    const d = data as { customerId: string; at: string };
    out.push({ kind: type === SEGMENT_ENTERED ? 'entered' : 'exited', customerId: d.customerId, at: d.at });
  };
  try {
    for await (const r of events.client.readStream(segmentMembersStream(segmentId), { direction: FORWARDS, fromRevision: START })) {
      if (r.event) add(r.event.id, r.event.type, r.event.data);
    }
  } catch (err) {
    if (!(err instanceof StreamNotFoundError)) throw new CairnError(ERROR_CODES.UNAVAILABLE, `event store: ${err instanceof Error ? err.message : String(err)}`);
  }
  for (const r of pending) add(r.event_id, r.type, JSON.parse(r.data));
  return out;
}

/** Removes every member of a deleted segment (each one exits), in short transactions. */
export async function dissolveSegment(store: ReadStore, segmentId: string, version: number, at: Date): Promise<number> {
  let n = 0;
  const segment: ActiveSegment = { id: segmentId, version, condition: { all: [] } as unknown as Condition };
  for (;;) {
    const members = await store.db.selectFrom('segment_members').select('customer_id').where('segment_id', '=', segmentId).limit(PAGE).execute();
    if (members.length === 0) return n;
    n += await store.transaction((trx) => reconcile(trx, segment, members.map((m) => m.customer_id), new Set(), at.toISOString()));
  }
}

export interface SegmentMembersPage {
  readonly items: { customerId: string; since: string }[];
  readonly nextCursor: string | null;
}

export async function listSegmentMembers(db: Kysely<ReadModelSchema>, segmentId: string, opts: { cursor?: string; limit: number }): Promise<SegmentMembersPage> {
  const after = opts.cursor === undefined ? undefined : decodeCursor(opts.cursor);
  let q = db.selectFrom('segment_members').select(['customer_id', 'since']).where('segment_id', '=', segmentId).orderBy('customer_id').limit(opts.limit + 1);
  if (after !== undefined) q = q.where('customer_id', '>', after);
  const rows = await q.execute();
  const page = rows.slice(0, opts.limit);
  return {
    items: page.map((r) => ({ customerId: r.customer_id, since: r.since })),
    nextCursor: rows.length > opts.limit ? encodeCursor(page[page.length - 1]!.customer_id) : null,
  };
}

export interface SegmentEngineOptions {
  /** Full sweep period (rolling windows flip as time passes): the most a membership can be stale. */
  readonly sweepIntervalMs: number;
  /** How often dirty persons, new definitions and the outbox are processed. */
  readonly pollMs: number;
  readonly lifecycle?: LifecycleRules;
  readonly now?: () => Date;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

/** Runs the loops above in one process: poll (dirty, new definitions, outbox) and periodic sweeps. */
export class SegmentEngine {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private lastSweep = 0;
  private stopped = false;

  constructor(
    private readonly store: ReadStore,
    private readonly events: CairnEventStore,
    private readonly options: SegmentEngineOptions,
  ) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => void this.tick(), this.options.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One round; concurrent calls share the round in flight. */
  tick(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.round()
      .catch((err: unknown) => this.options.log?.('error', 'segment engine round failed', { error: err instanceof Error ? err.message : String(err) }))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async round(): Promise<void> {
    const now = (this.options.now ?? (() => new Date()))();
    const ctx: SegmentContext = { asOf: now, lifecycle: this.options.lifecycle };
    const fresh = await segmentsNeedingSweep(this.store.db);
    if (fresh.length > 0) await sweepSegments(this.store, ctx, fresh);
    while (!this.stopped && (await evaluateDirty(this.store, ctx)) > 0);
    if (now.getTime() - this.lastSweep >= this.options.sweepIntervalMs) {
      this.lastSweep = now.getTime();
      await sweepSegments(this.store, ctx);
    }
    while (!this.stopped && (await publishOutbox(this.store, this.events)) > 0);
  }
}
