/**
 * Automation rules and the vouchers they issue.
 *
 * - Rules are events (`cairn.automation.defined.v1` / `deleted.v1` in `automation-<id>`, one per
 *   version, appended with the expected revision); the `automations` table is their read model.
 * - `AutomationRunner` is a checkpointed reactor over `cairn.segment.entered.v1`: for each entry
 *   into a rule's segment it records, in the transaction of its cursor, a voucher (with a code
 *   derived from rule and source event), a hold-out, or nothing (within P days of the customer's
 *   last grant for the rule). Then it appends each voucher as `cairn.voucher.issued.v1` to
 *   `automation-vouchers-<id>`, at least once, with an event id derived from the code so a
 *   retried append is a no-op; the webhook outbox reads those (`voucher.issued`).
 */
import { randomUUID } from 'crypto';
import { NO_STREAM, WrongExpectedVersionError, jsonEvent, type AllStreamRecordedEvent } from '@eventstore/db-client';
import type { Kysely, Transaction } from 'kysely';
import {
  AUTOMATION_DEFINED,
  AUTOMATION_DELETED,
  CairnError,
  ERROR_CODES,
  VOUCHER_ISSUED,
  automationMetrics,
  automationStream,
  automationVouchersStream,
  consentWithheldReason,
  grantFor,
  redemptions,
  uuidV5,
  voucherCode,
  type AutomationMetrics,
  type AutomationRule,
  type ConsentLog,
  type CouponUse,
  type Grant,
} from '@cairn/domain';
import { eventStoreUnavailable, type CairnEventStore } from '@cairn/event-store';
import { loadProfiles, type ReadModelSchema, type ReadStore } from '@cairn/read-models';
import { SEGMENT_ENTERED } from '../segments/segment-engine';
import { CheckpointedReactor } from '../webhooks/checkpointed-reactor';

export type AutomationsTable = { id: string; name: string; version: number; segment_id: string; rule: string; created_at: string; updated_at: string; deleted: number };
export type AutomationGrantsTable = {
  automation_id: string;
  source_event_id: string;
  customer_id: string;
  outcome: string;
  triggered_at: string;
  expires_at: string;
  code: string | null;
  value: string;
  published: number;
};
export type VoucherUsesTable = { event_id: string; code: string; customer_id: string | null; order_id: string; occurred_at: string; total_minor: number; currency: string };
type Tables = { automations: AutomationsTable; automation_grants: AutomationGrantsTable; voucher_uses: VoucherUsesTable };
type Db = Kysely<ReadModelSchema & Tables>;
const tables = (db: Kysely<ReadModelSchema> | Transaction<ReadModelSchema>): Db => db.withTables<Tables>() as unknown as Db;

const VOUCHER_EVENT_NAMESPACE = '0c7a2f61-93d4-5b8e-a1f0-6d2e9b4c8a15';

/** A rule as the API shows it: its latest version. */
export interface Automation extends AutomationRule {
  readonly id: string;
  /** 1 when defined, +1 on each PUT. */
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

function toAutomation(r: AutomationsTable): Automation {
  return { id: r.id, version: Number(r.version), createdAt: r.created_at, updatedAt: r.updated_at, ...(JSON.parse(r.rule) as AutomationRule) };
}

export async function getAutomation(db: Kysely<ReadModelSchema>, id: string): Promise<Automation> {
  const r = await tables(db).selectFrom('automations').selectAll().where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
  if (!r) throw new CairnError(ERROR_CODES.NOT_FOUND, `no automation '${id}'`);
  return toAutomation(r);
}

export async function listAutomations(db: Kysely<ReadModelSchema>): Promise<Automation[]> {
  return (await tables(db).selectFrom('automations').selectAll().where('deleted', '=', 0).orderBy('created_at').orderBy('id').execute()).map(toAutomation);
}

async function append(events: CairnEventStore, id: string, expected: bigint | typeof NO_STREAM, type: string, data: Record<string, unknown>): Promise<void> {
  try {
    await events.client.appendToStream(automationStream(id), jsonEvent({ id: randomUUID(), type, data: data as never }), { expectedRevision: expected });
  } catch (err) {
    if (err instanceof WrongExpectedVersionError) throw new CairnError(ERROR_CODES.STREAM_CONFLICT, `automation ${id} was changed concurrently; read it again and retry`);
    throw eventStoreUnavailable(err);
  }
}

/** Defines a rule (version 1) or its next version; the event first, then the read model. */
export async function defineAutomation(store: ReadStore, events: CairnEventStore, id: string | undefined, rule: AutomationRule, now: Date): Promise<Automation> {
  const at = now.toISOString();
  const current = id === undefined ? null : await getAutomation(store.db, id);
  const automationId = id ?? randomUUID();
  const version = (current?.version ?? 0) + 1;
  await append(events, automationId, current ? BigInt(current.version - 1) : NO_STREAM, AUTOMATION_DEFINED, { automationId, version, ...rule, definedAt: at });
  const row: AutomationsTable = { id: automationId, name: rule.name, version, segment_id: rule.segmentId, rule: JSON.stringify(rule), created_at: current?.createdAt ?? at, updated_at: at, deleted: 0 };
  await tables(store.db)
    .insertInto('automations')
    .values(row)
    .onConflict((oc) => oc.column('id').doUpdateSet({ name: row.name, version, segment_id: row.segment_id, rule: row.rule, updated_at: at }))
    .execute();
  return getAutomation(store.db, automationId);
}

export async function deleteAutomation(store: ReadStore, events: CairnEventStore, id: string, now: Date): Promise<void> {
  const current = await getAutomation(store.db, id);
  await append(events, id, BigInt(current.version - 1), AUTOMATION_DELETED, { automationId: id, version: current.version, deletedAt: now.toISOString() });
  await tables(store.db).updateTable('automations').set({ deleted: 1, updated_at: now.toISOString() }).where('id', '=', id).execute();
}

export interface VoucherView {
  readonly code: string;
  readonly customerId: string;
  readonly issuedAt: string;
  readonly expiresAt: string;
  readonly value: AutomationRule['voucher'];
  /** The purchase that redeemed it (its couponCode); null while unused. */
  readonly redeemedBy: { orderId: string; eventId: string; occurredAt: string; totalMinor: number; currency: string } | null;
}

async function grantsOf(db: Db, automationId: string): Promise<AutomationGrantsTable[]> {
  return db.selectFrom('automation_grants').selectAll().where('automation_id', '=', automationId).orderBy('triggered_at').orderBy('source_event_id').execute();
}

async function usesOf(db: Db, codes: readonly string[]): Promise<CouponUse[]> {
  const out: CouponUse[] = [];
  for (let i = 0; i < codes.length; i += 500) {
    const rows = await db.selectFrom('voucher_uses').selectAll().where('code', 'in', codes.slice(i, i + 500)).execute();
    out.push(...rows.map((r) => ({ eventId: r.event_id, code: r.code, customerId: r.customer_id, orderId: r.order_id, occurredAt: r.occurred_at, totalMinor: Number(r.total_minor), currency: r.currency })));
  }
  return out;
}

const toGrant = (g: AutomationGrantsTable): Grant => ({ customerId: g.customer_id, outcome: g.outcome as Grant['outcome'], triggeredAt: g.triggered_at, code: g.code, expiresAt: g.expires_at });

/** A rule's vouchers with the purchase that redeemed each (null: not yet). */
export async function listVouchers(db: Kysely<ReadModelSchema>, automationId: string): Promise<VoucherView[]> {
  const t = tables(db);
  const grants = (await grantsOf(t, automationId)).filter((g) => g.code !== null);
  const { redeemed } = redemptions(grants.map(toGrant), await usesOf(t, grants.map((g) => g.code!)));
  return grants.map((g) => {
    const r = redeemed.get(g.code!);
    return {
      code: g.code!,
      customerId: g.customer_id,
      issuedAt: g.triggered_at,
      expiresAt: g.expires_at,
      value: JSON.parse(g.value) as AutomationRule['voucher'],
      redeemedBy: r ? { orderId: r.orderId, eventId: r.eventId, occurredAt: r.occurredAt, totalMinor: r.totalMinor, currency: r.currency } : null,
    };
  });
}

/** A rule's metrics: vouchers issued and redeemed, revenue of redeeming orders, win-back rate against the hold-out. */
export async function metricsOf(db: Kysely<ReadModelSchema>, automationId: string): Promise<AutomationMetrics> {
  const t = tables(db);
  const grants = await grantsOf(t, automationId);
  const uses = await usesOf(t, grants.filter((g) => g.code !== null).map((g) => g.code!));
  const customers = [...new Set(grants.map((g) => g.customer_id))];
  const purchases: { customerId: string; occurredAt: string }[] = [];
  for (let i = 0; i < customers.length; i += 500) {
    const rows = await db.selectFrom('analytics_facts').select(['customer_id', 'occurred_at']).where('kind', '=', 'purchase').where('customer_id', 'in', customers.slice(i, i + 500)).execute();
    purchases.push(...rows.map((r) => ({ customerId: r.customer_id!, occurredAt: r.occurred_at })));
  }
  return automationMetrics(grants.map(toGrant), uses, purchases);
}

export interface AutomationRunnerOptions {
  readonly publishMs: number;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

export class AutomationRunner {
  readonly reactor: CheckpointedReactor;
  private timer: NodeJS.Timeout | null = null;
  private publishing: Promise<void> | null = null;

  constructor(
    private readonly store: ReadStore,
    private readonly events: CairnEventStore,
    private readonly options: AutomationRunnerOptions,
  ) {
    this.reactor = new CheckpointedReactor(store, events, {
      name: 'automations',
      types: [SEGMENT_ENTERED],
      log: options.log,
      onCommitted: () => void this.publish(),
      commit: (trx, batch) => grantVouchers(trx, batch),
    });
  }

  start(): void {
    this.reactor.start();
    this.timer = setInterval(() => void this.publish(), this.options.publishMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.reactor.stop();
    await this.publishing;
  }

  /** Appends the vouchers not yet in the log (at least once; ids derived from the code). */
  publish(): Promise<void> {
    this.publishing ??= (async () => {
      try {
        const db = tables(this.store.db);
        for (;;) {
          const rows = await db.selectFrom('automation_grants').selectAll().where('published', '=', 0).orderBy('triggered_at').limit(500).execute();
          if (rows.length === 0) return;
          const byRule = new Map<string, AutomationGrantsTable[]>();
          for (const r of rows) byRule.set(r.automation_id, [...(byRule.get(r.automation_id) ?? []), r]);
          for (const [id, list] of byRule) {
            await this.events.client.appendToStream(
              automationVouchersStream(id),
              list.map((g) =>
                jsonEvent({
                  id: uuidV5(g.code!, VOUCHER_EVENT_NAMESPACE),
                  type: VOUCHER_ISSUED,
                  data: { automationId: id, code: g.code, customerId: g.customer_id, issuedAt: g.triggered_at, expiresAt: g.expires_at, value: JSON.parse(g.value), sourceEventId: g.source_event_id } as never,
                }),
              ),
            );
            for (const g of list) await db.updateTable('automation_grants').set({ published: 1 }).where('automation_id', '=', id).where('source_event_id', '=', g.source_event_id).execute();
          }
        }
      } catch (err) {
        this.options.log?.('warn', 'publishing vouchers failed; retried at the next round', { error: err instanceof Error ? err.message : String(err) });
      } finally {
        this.publishing = null;
      }
    })();
    return this.publishing;
  }
}

/** The grants of a batch of segment entries, in the reactor's transaction. */
async function grantVouchers(trx: Transaction<ReadModelSchema>, batch: readonly AllStreamRecordedEvent[]): Promise<number> {
  const db = tables(trx);
  const rules = (await db.selectFrom('automations').selectAll().where('deleted', '=', 0).execute()).map(toAutomation);
  if (rules.length === 0) return 0;
  const last = new Map<string, string>(); // automation:customer → last grant in this batch
  const rows: AutomationGrantsTable[] = [];
  // Consent, for rules that require it: the person's as the profiles know it now, read as of each trigger's instant.
  const consent = new Map<string, ConsentLog>();
  if (rules.some((r) => r.requiresConsent !== undefined)) {
    const ids = [...new Set(batch.flatMap((e) => (typeof (e.data as { customerId?: unknown }).customerId === 'string' ? [(e.data as { customerId: string }).customerId] : [])))];
    for (let i = 0; i < ids.length; i += 500) for (const [id, profile] of await loadProfiles(trx, ids.slice(i, i + 500))) consent.set(id, profile.state.consent ?? {});
  }
  for (const e of batch) {
    const d = e.data as { segmentId?: unknown; customerId?: unknown; at?: unknown };
    if (typeof d.segmentId !== 'string' || typeof d.customerId !== 'string') continue;
    const at = typeof d.at === 'string' ? d.at : e.created.toISOString();
    for (const rule of rules) {
      if (rule.segmentId !== d.segmentId || at < rule.createdAt) continue;
      const key = `${rule.id}:${d.customerId}`;
      const stored = last.has(key)
        ? null
        : await db
            .selectFrom('automation_grants')
            .select('triggered_at')
            .where('automation_id', '=', rule.id)
            .where('customer_id', '=', d.customerId)
            .where('outcome', '!=', 'withheld') // a trigger withheld for consent gave nothing: it does not start the oncePerDays wait
            .orderBy('triggered_at', 'desc')
            .limit(1)
            .executeTakeFirst();
      const granted = grantFor(rule, d.customerId, at, last.get(key) ?? stored?.triggered_at ?? null);
      if (granted === null) continue;
      const withheld = rule.requiresConsent === undefined ? null : consentWithheldReason(consent.get(d.customerId), rule.requiresConsent, at);
      const outcome = withheld === null ? granted : 'withheld';
      if (outcome !== 'withheld') last.set(key, at);
      rows.push({
        automation_id: rule.id,
        source_event_id: e.id,
        customer_id: d.customerId,
        outcome,
        triggered_at: at,
        expires_at: new Date(Date.parse(at) + rule.validDays * 86_400_000).toISOString(),
        code: outcome === 'voucher' ? voucherCode(rule.id, e.id) : null,
        value: JSON.stringify(rule.voucher),
        published: outcome === 'voucher' ? 0 : 1,
      });
    }
  }
  for (let i = 0; i < rows.length; i += 200) {
    await db
      .insertInto('automation_grants')
      .values(rows.slice(i, i + 200))
      .onConflict((oc) => oc.columns(['automation_id', 'source_event_id']).doNothing())
      .execute();
  }
  return rows.length;
}
