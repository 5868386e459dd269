/**
 * Webhook endpoints and their deliveries in the read store (tables of migration 600). The outbox
 * (`webhook_deliveries`) is written by `WebhookOutbox` and drained by `WebhookDeliveries`.
 */
import { randomBytes, randomUUID } from 'crypto';
import type { Kysely, Transaction } from 'kysely';
import type { ReadModelSchema, ReadStore } from '@cairn/read-models';

/** Every kind an endpoint can ask for (docs/webhooks.md). */
export const WEBHOOK_KINDS = ['segment.entered', 'segment.exited', 'voucher.issued', 'privacy.erased', 'tier.changed', 'points.earned', 'points.expiring', 'customer.lapsed'] as const;
export type WebhookKind = (typeof WEBHOOK_KINDS)[number];
/** Kinds with no event of their own: `WebhookSignals` derives them from the ledger and the profile as time passes. */
export const SIGNAL_KINDS: readonly WebhookKind[] = ['tier.changed', 'points.earned', 'points.expiring', 'customer.lapsed'];
/** points.expiring's horizon when an endpoint names none. */
export const DEFAULT_EXPIRING_DAYS = 7;

export type WebhooksTable = {
  id: string;
  url: string;
  kinds: string;
  segment_id: string | null;
  secret: string;
  status: string;
  disabled_reason: string | null;
  created_at: string;
  lease_owner: string | null;
  lease_until: string | null;
  /** The consent purpose a delivery's person must have granted at the change's instant; null: none (migration 810). */
  requires_consent: string | null;
  /** tier.changed only when the person moves from or to this tier; null: every tier (migration 840). */
  tier_filter: string | null;
  /** points.expiring this many days ahead; null: DEFAULT_EXPIRING_DAYS (migration 840). */
  expiring_days: number | null;
};
export type WebhookDeliveriesTable = {
  id: string;
  webhook_id: string;
  source_event_id: string;
  position: string;
  customer_id: string;
  kind: string;
  payload: string;
  status: string;
  attempts: number;
  next_attempt_at: string;
  created_at: string;
  retry_from: string;
  delivered_at: string | null;
  /** Why the delivery was withheld (status 'withheld', never sent); null otherwise (migration 810). */
  withheld_reason: string | null;
};
export type WebhookAttemptsTable = {
  delivery_id: string;
  attempt: number;
  at: string;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
};
export type WebhookCursorTable = {
  name: string;
  position: string | null;
  updated_at: string;
};
export type WebhookSignalStateTable = {
  customer_id: string;
  /** The tier last notified (or seen first); null: none yet. */
  tier: string | null;
  /** The lifecycle stage last seen. */
  stage: string | null;
  /** Loyalty facts received up to this instant have had their points.earned enqueued. */
  earned_through: string | null;
  updated_at: string;
};
export type WebhookTables = {
  webhook_signal_state: WebhookSignalStateTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  webhook_cursor: WebhookCursorTable;
};
export type WebhookDb = Kysely<ReadModelSchema & WebhookTables>;
export const webhookDb = (db: Kysely<ReadModelSchema> | Transaction<ReadModelSchema>): WebhookDb => db.withTables<WebhookTables>() as unknown as WebhookDb;

/** A registered endpoint, as the API shows it (never its secret). */
export interface Webhook {
  /** wh_ and 32 hex digits. */
  readonly id: string;
  readonly url: string;
  readonly kinds: WebhookKind[];
  /** Only changes of this segment (segment kinds); null: every segment. */
  readonly segmentId: string | null;
  readonly status: 'enabled' | 'disabled';
  /** Why it was disabled (a 410 answer); null while enabled. */
  readonly disabledReason: string | null;
  /**
   * The consent purpose the endpoint needs (e.g. email_marketing): a change about a person without
   * it granted at the change's instant is withheld (recorded, never sent). Null: every change is sent.
   */
  readonly requiresConsent: string | null;
  /** tier.changed only when the person moves from or to this tier; null: every tier. */
  readonly tier: string | null;
  /** points.expiring: how many days ahead of an expiry it is announced (null unless the endpoint asks for points.expiring). */
  readonly expiringDays: number | null;
  readonly createdAt: string;
}

/** An endpoint with how many of its deliveries are in each state (withheld: for lack of consent, never sent). */
export type WebhookWithCounts = Webhook & { readonly deliveries: { pending: number; delivered: number; dead: number; withheld: number } };

export function toWebhook(r: WebhooksTable): Webhook {
  return {
    id: r.id,
    url: r.url,
    kinds: JSON.parse(r.kinds) as WebhookKind[],
    segmentId: r.segment_id,
    status: r.status as Webhook['status'],
    disabledReason: r.disabled_reason,
    requiresConsent: r.requires_consent ?? null,
    tier: r.tier_filter ?? null,
    expiringDays: (JSON.parse(r.kinds) as string[]).includes('points.expiring') ? Number(r.expiring_days ?? DEFAULT_EXPIRING_DAYS) : null,
    createdAt: r.created_at,
  };
}

async function withCounts(db: Kysely<ReadModelSchema>, hooks: Webhook[]): Promise<WebhookWithCounts[]> {
  if (hooks.length === 0) return [];
  const rows = await webhookDb(db)
    .selectFrom('webhook_deliveries')
    .select(['webhook_id', 'status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('webhook_id', 'in', hooks.map((h) => h.id))
    .groupBy(['webhook_id', 'status'])
    .execute();
  return hooks.map((h) => {
    const deliveries = { pending: 0, delivered: 0, dead: 0, withheld: 0 };
    for (const r of rows) if (r.webhook_id === h.id && r.status in deliveries) deliveries[r.status as keyof typeof deliveries] = Number(r.n);
    return { ...h, deliveries };
  });
}

/** Log positions as 20-digit text: ordered alike on SQLite and PostgreSQL. */
export const padPosition = (p: bigint): string => p.toString().padStart(20, '0');

export async function createWebhook(store: ReadStore, def: { url: string; kinds: WebhookKind[]; segmentId?: string; requiresConsent?: string; tier?: string; expiringDays?: number }, now: Date): Promise<{ webhook: Webhook; secret: string }> {
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const row: WebhooksTable = {
    id: `wh_${randomUUID().replace(/-/g, '')}`,
    url: def.url,
    kinds: JSON.stringify(def.kinds),
    segment_id: def.segmentId ?? null,
    secret,
    status: 'enabled',
    disabled_reason: null,
    created_at: now.toISOString(),
    lease_owner: null,
    lease_until: null,
    requires_consent: def.requiresConsent ?? null,
    tier_filter: def.tier ?? null,
    expiring_days: def.kinds.includes('points.expiring') ? (def.expiringDays ?? DEFAULT_EXPIRING_DAYS) : null,
  };
  await webhookDb(store.db).insertInto('webhooks').values(row).execute();
  return { webhook: toWebhook(row), secret };
}

export async function listWebhooks(db: Kysely<ReadModelSchema>): Promise<WebhookWithCounts[]> {
  return withCounts(db, (await webhookDb(db).selectFrom('webhooks').selectAll().orderBy('created_at').orderBy('id').execute()).map(toWebhook));
}

export async function getWebhook(db: Kysely<ReadModelSchema>, id: string): Promise<WebhookWithCounts | null> {
  const r = await webhookDb(db).selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? (await withCounts(db, [toWebhook(r)]))[0]! : null;
}

/** Deletes the endpoint, its deliveries and their attempts. */
export async function deleteWebhook(store: ReadStore, id: string): Promise<boolean> {
  return store.transaction(async (trx) => {
    const db = webhookDb(trx);
    const ids = (await db.selectFrom('webhook_deliveries').select('id').where('webhook_id', '=', id).execute()).map((r) => r.id);
    for (let i = 0; i < ids.length; i += 500) await db.deleteFrom('webhook_attempts').where('delivery_id', 'in', ids.slice(i, i + 500)).execute();
    await db.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).execute();
    const r = await db.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  });
}

/** Enables an endpoint again (after a 410 disabled it); its pending deliveries resume. */
export async function enableWebhook(db: Kysely<ReadModelSchema>, id: string): Promise<WebhookWithCounts | null> {
  await webhookDb(db).updateTable('webhooks').set({ status: 'enabled', disabled_reason: null }).where('id', '=', id).execute();
  return getWebhook(db, id);
}

export interface DeliveryView {
  /** The webhook-id header (msg_…): the same on every attempt and re-send. */
  readonly id: string;
  readonly kind: string;
  readonly customerId: string;
  readonly sourceEventId: string;
  /** withheld: the endpoint requires a consent the person had not granted at the change's instant; never sent. */
  readonly status: 'pending' | 'delivered' | 'dead' | 'withheld';
  /** Why it was withheld; null otherwise. */
  readonly withheldReason: string | null;
  readonly createdAt: string;
  readonly deliveredAt: string | null;
  /** When the next attempt is due; null unless pending. */
  readonly nextAttemptAt: string | null;
  /** The body sent. */
  readonly payload: unknown;
  /** Every attempt; statusCode is null when no answer came. */
  readonly attempts: { attempt: number; at: string; statusCode: number | null; latencyMs: number; error: string | null }[];
}

/** Deliveries of an endpoint, oldest first, with every attempt; keyset pages by delivery position. */
export async function listDeliveries(db: Kysely<ReadModelSchema>, webhookId: string, opts: { status?: string; after?: string; limit: number }): Promise<{ items: DeliveryView[]; nextCursor: string | null }> {
  const w = webhookDb(db);
  let q = w.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId).orderBy('position').orderBy('id').limit(opts.limit + 1);
  if (opts.status) q = q.where('status', '=', opts.status);
  if (opts.after) q = q.where('position', '>', opts.after);
  const rows = await q.execute();
  const page = rows.slice(0, opts.limit);
  const attempts = page.length === 0 ? [] : await w.selectFrom('webhook_attempts').selectAll().where('delivery_id', 'in', page.map((r) => r.id)).orderBy('attempt').execute();
  return {
    items: page.map((r) => ({
      id: r.id,
      kind: r.kind,
      customerId: r.customer_id,
      sourceEventId: r.source_event_id,
      status: r.status as DeliveryView['status'],
      withheldReason: r.withheld_reason ?? null,
      createdAt: r.created_at,
      deliveredAt: r.delivered_at,
      nextAttemptAt: r.status === 'pending' ? r.next_attempt_at : null,
      payload: JSON.parse(r.payload) as unknown,
      attempts: attempts
        .filter((a) => a.delivery_id === r.id)
        .map((a) => ({ attempt: Number(a.attempt), at: a.at, statusCode: a.status_code === null ? null : Number(a.status_code), latencyMs: Number(a.latency_ms), error: a.error })),
    })),
    nextCursor: rows.length > opts.limit ? page[page.length - 1]!.position : null,
  };
}

/**
 * Queues deliveries again (same webhook-id: receivers dedupe on it): one by id, or every delivery
 * created in [from, to), except withheld ones. Their attempts so far are kept; the retry window starts again now.
 */
export async function resendDeliveries(db: Kysely<ReadModelSchema>, webhookId: string, which: { deliveryId: string } | { from: string; to: string }, now: Date): Promise<number> {
  let q = webhookDb(db)
    .updateTable('webhook_deliveries')
    .set({ status: 'pending', next_attempt_at: now.toISOString(), retry_from: now.toISOString(), delivered_at: null })
    .where('webhook_id', '=', webhookId)
    // A withheld delivery is never sent: consent was not granted at the change's instant, and a re-send cannot change that.
    .where('status', '!=', 'withheld');
  q = 'deliveryId' in which ? q.where('id', '=', which.deliveryId) : q.where('created_at', '>=', which.from).where('created_at', '<', which.to);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows);
}
