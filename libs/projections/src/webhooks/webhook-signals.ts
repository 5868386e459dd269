/**
 * Webhook kinds with no event of their own: `tier.changed`, `points.earned`, `points.expiring`
 * and `customer.lapsed`. The loyalty ledger and the lifecycle stage are computed on read for any
 * instant, so a tier, an expiry or a lapse happens as time passes with no event to subscribe to.
 *
 * `WebhookSignals` is therefore a periodic reactor, like the segment engine's sweep: each round
 * (only while some enabled endpoint asks for one of these kinds) it reads every person's profile
 * and ledger now (and N days ahead for points.expiring), compares them with what was last noted
 * for the person (`webhook_signal_state`), and writes the outbox rows and the new state in one
 * read-store transaction per page. Every row's source key is derived from its cause (the tier
 * change's instant and tiers, the earning fact's event id, the expiry's instant, the last order
 * the lapse follows), so the outbox's unique (webhook, source) key makes a re-run after a crash
 * or a restart enqueue nothing twice, and its webhook id is derived from the same key.
 */
import { createHash } from 'crypto';
import type { Kysely, Transaction } from 'kysely';
import { consentWithheldReason, lifecycleStage, type ConsentLog, type Ledger, type LifecycleRules, type Profile } from '@cairn/domain';
import { loadProfiles, type ReadModelSchema, type ReadStore } from '@cairn/read-models';
import { DEFAULT_EXPIRING_DAYS, SIGNAL_KINDS, padPosition, webhookDb, type WebhookDeliveriesTable, type WebhookKind } from './webhook-store';

const DAY_MS = 86_400_000;
const PAGE = 200;

/** A person's ledgers at the instants asked for, and when each loyalty fact of theirs was received. */
export interface PersonLedgers {
  /** The person's canonical id: a merged-away id is skipped (its survivor is evaluated). */
  readonly personId: string;
  /** By as-of instant (ISO). */
  readonly at: ReadonlyMap<string, Ledger>;
  /** Loyalty fact id → received at (ISO). */
  readonly receivedAt: ReadonlyMap<string, string>;
}

export interface WebhookSignalsOptions {
  /** The person's ledgers, or null when there is no loyalty program or no activity. */
  readonly ledgers: (customerId: string, asOfs: readonly string[]) => Promise<PersonLedgers | null>;
  readonly lifecycle: LifecycleRules;
  /** How often a round runs. */
  readonly intervalMs: number;
  readonly now?: () => Date;
  readonly onEnqueued?: () => void;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

interface Hook {
  readonly id: string;
  readonly kinds: ReadonlySet<string>;
  readonly segmentId: string | null;
  readonly tier: string | null;
  readonly expiringDays: number;
  readonly requiresConsent: string | null;
  readonly createdAt: string;
}

/** A change to notify: its kind, the key of its cause (unique per endpoint) and the body's data. */
export interface Signal {
  readonly kind: WebhookKind;
  readonly cause: string;
  readonly at: string;
  readonly data: Record<string, unknown>;
  /** points.expiring: the endpoint horizon it is for. */
  readonly days?: number;
  /** tier.changed: the tiers, for an endpoint's tier filter. */
  readonly tiers?: readonly (string | null)[];
}

export interface SignalState {
  readonly tier: string | null;
  readonly stage: string | null;
  readonly earnedThrough: string | null;
}

/**
 * The changes of one person between the state last noted and now (pure). First sight of a person:
 * a tier above the base tier and a lapsed stage are notified (once), the base tier is not.
 */
export function signalsOf(
  customerId: string,
  state: SignalState | null,
  profile: Profile,
  ledgers: PersonLedgers | null,
  now: Date,
  horizons: readonly number[],
  rules: LifecycleRules,
): { signals: Signal[]; next: SignalState } {
  const signals: Signal[] = [];
  const nowIso = now.toISOString();
  const stage = lifecycleStage(profile, now, rules);
  if (stage === 'lapsed' && state?.stage !== 'lapsed') {
    const lastOrder = profile.lastOrder?.occurredAt ?? null;
    signals.push({ kind: 'customer.lapsed', cause: `lapsed:${customerId}:${lastOrder ?? profile.firstSeenAt}`, at: nowIso, data: { customerId, from: state?.stage ?? null, to: 'lapsed', lastOrderAt: lastOrder, lapsedDays: rules.lapsedDays } });
  }
  const ledger = ledgers?.at.get(nowIso) ?? null;
  const tier = ledger?.tier?.name ?? null;
  let earnedThrough = state?.earnedThrough ?? null;
  if (ledger !== null && ledgers !== null) {
    const last = ledger.tierHistory[ledger.tierHistory.length - 1];
    if (tier !== null && tier !== (state?.tier ?? null) && !(state === null && (ledger.tier?.level ?? 0) === 0)) {
      const from = state !== null ? state.tier : (ledger.tierHistory[ledger.tierHistory.length - 2]?.to ?? null);
      const at = last?.at ?? nowIso;
      signals.push({ kind: 'tier.changed', cause: `tier:${customerId}:${at}:${from ?? ''}>${tier}`, at, tiers: [from, tier], data: { customerId, from, to: tier, at, qualifying: ledger.tier?.qualifying ?? null, basis: ledger.tier?.basis ?? null } });
    }
    for (const m of ledger.movements) {
      if (m.type !== 'earned' || m.cause === null) continue;
      const received = ledgers.receivedAt.get(m.cause);
      if (received === undefined || (earnedThrough !== null && received < earnedThrough)) continue;
      signals.push({ kind: 'points.earned', cause: `earned:${m.cause}`, at: m.at, data: { customerId, points: m.pending + m.available, pending: m.pending, available: m.available, sourceEventId: m.cause, at: m.at, note: m.note } });
    }
    for (const r of ledgers.receivedAt.values()) if (earnedThrough === null || r > earnedThrough) earnedThrough = r;
    for (const days of horizons) {
      const ahead = ledgers.at.get(new Date(now.getTime() + days * DAY_MS).toISOString());
      for (const m of ahead?.movements ?? []) {
        if (m.type !== 'expired' || m.at <= nowIso) continue;
        const points = -(m.pending + m.available);
        if (points <= 0) continue;
        signals.push({ kind: 'points.expiring', cause: `expiring:${customerId}:${m.at}:${days}`, at: nowIso, days, data: { customerId, points, expiresAt: m.at, daysAhead: days, balance: ledger.balance } });
      }
    }
  }
  return { signals, next: { tier, stage, earnedThrough } };
}

/** The webhook id of a signal's delivery to an endpoint: a re-run derives the same one. */
export const signalDeliveryId = (webhookId: string, cause: string): string => `msg_${createHash('sha256').update(`${webhookId}\n${cause}`).digest('hex').slice(0, 32)}`;

async function signalHooks(db: Kysely<ReadModelSchema> | Transaction<ReadModelSchema>): Promise<Hook[]> {
  const rows = await webhookDb(db).selectFrom('webhooks').selectAll().where('status', '=', 'enabled').execute();
  return rows
    .map((h) => ({ id: h.id, kinds: new Set(JSON.parse(h.kinds) as string[]), segmentId: h.segment_id, tier: h.tier_filter ?? null, expiringDays: Number(h.expiring_days ?? DEFAULT_EXPIRING_DAYS), requiresConsent: h.requires_consent ?? null, createdAt: h.created_at }))
    .filter((h) => SIGNAL_KINDS.some((k) => h.kinds.has(k)));
}

/** One round over every person (page by page); returns the deliveries enqueued. */
export async function sweepSignals(store: ReadStore, options: Pick<WebhookSignalsOptions, 'ledgers' | 'lifecycle'>, now: Date): Promise<number> {
  const hooks = await signalHooks(store.db);
  if (hooks.length === 0) return 0;
  const horizons = [...new Set(hooks.filter((h) => h.kinds.has('points.expiring')).map((h) => h.expiringDays))];
  const asOfs = [now.toISOString(), ...horizons.map((d) => new Date(now.getTime() + d * DAY_MS).toISOString())];
  const wantsLedger = hooks.some((h) => h.kinds.has('tier.changed') || h.kinds.has('points.earned') || h.kinds.has('points.expiring'));
  let after = '';
  let enqueued = 0;
  for (;;) {
    const ids = (await store.db.selectFrom('profiles').select('customer_id').where('customer_id', '>', after).orderBy('customer_id').limit(PAGE).execute()).map((r) => r.customer_id);
    if (ids.length === 0) break;
    after = ids[ids.length - 1]!;
    // Ledgers first (event-store reads), outside the transaction; then state, rows and state in one transaction.
    const ledgers = new Map<string, PersonLedgers | null>();
    if (wantsLedger) for (const id of ids) ledgers.set(id, await options.ledgers(id, asOfs));
    enqueued += await store.transaction(async (trx) => {
      const db = webhookDb(trx);
      const profiles = await loadProfiles(trx, ids);
      const states = new Map((await db.selectFrom('webhook_signal_state').selectAll().where('customer_id', 'in', ids).execute()).map((s) => [s.customer_id, { tier: s.tier, stage: s.stage, earnedThrough: s.earned_through }]));
      const segmentIds = [...new Set(hooks.flatMap((h) => (h.segmentId === null ? [] : [h.segmentId])))];
      const members = new Set(
        segmentIds.length === 0 ? [] : (await trx.selectFrom('segment_members').select(['segment_id', 'customer_id']).where('segment_id', 'in', segmentIds).where('customer_id', 'in', ids).execute()).map((m) => `${m.segment_id}\n${m.customer_id}`),
      );
      // Signal rows order after the log-sourced deliveries enqueued so far (per customer and endpoint).
      const cursor = (await db.selectFrom('webhook_cursor').select('position').where('name', '=', 'webhook-outbox').executeTakeFirst())?.position ?? padPosition(0n);
      const nowIso = now.toISOString();
      const rows: WebhookDeliveriesTable[] = [];
      const nextStates: { customer_id: string; tier: string | null; stage: string | null; earned_through: string | null; updated_at: string }[] = [];
      for (const id of ids) {
        const profile = profiles.get(id);
        const l = ledgers.get(id) ?? null;
        if (profile === undefined || (l !== null && l.personId !== id)) continue;
        const before = states.get(id) ?? null;
        const { signals, next } = signalsOf(id, before, profile, l, now, horizons, options.lifecycle);
        if (before === null || before.tier !== next.tier || before.stage !== next.stage || before.earnedThrough !== next.earnedThrough) nextStates.push({ customer_id: id, tier: next.tier, stage: next.stage, earned_through: next.earnedThrough, updated_at: nowIso });
        const consent: ConsentLog = profile.state.consent ?? {};
        for (const s of signals) {
          for (const h of hooks) {
            if (!h.kinds.has(s.kind)) continue;
            if (s.days !== undefined && s.days !== h.expiringDays) continue;
            if (h.tier !== null && s.tiers !== undefined && !s.tiers.includes(h.tier)) continue;
            if (h.segmentId !== null && !members.has(`${h.segmentId}\n${id}`)) continue;
            // A fact received before the endpoint existed is not news to it.
            if (s.kind === 'points.earned' && (l?.receivedAt.get(String(s.data.sourceEventId)) ?? '') < h.createdAt) continue;
            const withheld = h.requiresConsent === null ? null : consentWithheldReason(consent, h.requiresConsent, s.kind === 'points.earned' || s.kind === 'tier.changed' ? s.at : nowIso);
            rows.push({
              id: signalDeliveryId(h.id, s.cause),
              webhook_id: h.id,
              source_event_id: s.cause,
              position: cursor,
              customer_id: id,
              kind: s.kind,
              payload: JSON.stringify({ type: s.kind, timestamp: s.at, data: s.data }),
              status: withheld === null ? 'pending' : 'withheld',
              withheld_reason: withheld,
              attempts: 0,
              next_attempt_at: nowIso,
              created_at: nowIso,
              retry_from: nowIso,
              delivered_at: null,
            });
          }
        }
      }
      let inserted = 0;
      for (let i = 0; i < rows.length; i += 200) {
        const r = await db
          .insertInto('webhook_deliveries')
          .values(rows.slice(i, i + 200))
          .onConflict((oc) => oc.columns(['webhook_id', 'source_event_id']).doNothing())
          .executeTakeFirst();
        inserted += Number(r.numInsertedOrUpdatedRows ?? 0n);
      }
      for (const s of nextStates) {
        await db
          .insertInto('webhook_signal_state')
          .values(s)
          .onConflict((oc) => oc.column('customer_id').doUpdateSet({ tier: s.tier, stage: s.stage, earned_through: s.earned_through, updated_at: s.updated_at }))
          .execute();
      }
      return inserted;
    });
  }
  return enqueued;
}

/** Runs `sweepSignals` every `intervalMs` (and on `nudge`), one round at a time. */
export class WebhookSignals {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  /** Rounds completed since start. */
  rounds = 0;

  constructor(
    private readonly store: ReadStore,
    private readonly options: WebhookSignalsOptions,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs);
    this.timer.unref();
    void this.tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.again = false;
    await this.running;
  }

  /** A round now (or right after the one in flight). */
  tick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          const n = await sweepSignals(this.store, this.options, (this.options.now ?? (() => new Date()))());
          this.rounds++;
          if (n > 0) this.options.onEnqueued?.();
        } catch (err) {
          this.options.log?.('warn', 'webhook signals round failed; the next round retries', { error: err instanceof Error ? err.message : String(err) });
        }
      } while (this.again && this.timer !== null);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }
}
