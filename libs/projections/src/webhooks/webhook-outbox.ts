/**
 * Enqueues webhook deliveries exactly once per source event: a `CheckpointedReactor` over the
 * source event types whose batches write one outbox row (`webhook_deliveries`) per matching
 * endpoint, in the same transaction as its cursor (the outbox's unique (webhook, source event)
 * key would refuse a second row anyway).
 */
import { randomUUID } from 'crypto';
import type { AllStreamRecordedEvent } from '@eventstore/db-client';
import type { CairnEventStore } from '@cairn/event-store';
import { loadProfiles, type ReadStore } from '@cairn/read-models';
import { PRIVACY_ERASED, VOUCHER_ISSUED, consentWithheldReason, type ConsentLog } from '@cairn/domain';
import { SEGMENT_ENTERED, SEGMENT_EXITED } from '../segments/segment-engine';
import { CheckpointedReactor } from './checkpointed-reactor';
import { padPosition, webhookDb, type WebhookDeliveriesTable, type WebhookKind } from './webhook-store';

const KIND_OF_TYPE: Readonly<Record<string, WebhookKind>> = { [SEGMENT_ENTERED]: 'segment.entered', [SEGMENT_EXITED]: 'segment.exited', [VOUCHER_ISSUED]: 'voucher.issued', [PRIVACY_ERASED]: 'privacy.erased' };

export interface WebhookOutboxOptions {
  /** Called after a commit that enqueued deliveries (the delivery worker starts at once). */
  readonly onEnqueued?: () => void;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

/** The payload a receiver gets for a source event (Standard Webhooks: type, timestamp, data), with what filters match on. */
export function payloadOf(kind: WebhookKind, e: AllStreamRecordedEvent): { customerId: string; segmentId: string | null; at: string; payload: string } | null {
  if (kind === 'privacy.erased') {
    // For the tools the shop copied data to: forget these ids too. Ids and the record only, no personal value.
    const r = e.data as { erasureId?: unknown; customerIds?: unknown; anonymousIds?: unknown; reason?: unknown; reference?: unknown; erasedAt?: unknown };
    if (typeof r.erasureId !== 'string' || !Array.isArray(r.customerIds) || !Array.isArray(r.anonymousIds)) return null;
    const at = typeof r.erasedAt === 'string' ? r.erasedAt : e.created.toISOString();
    const data = { erasureId: r.erasureId, customerIds: r.customerIds, anonymousIds: r.anonymousIds, reason: r.reason, reference: r.reference ?? null, erasedAt: at };
    return { customerId: String(r.customerIds[0] ?? r.anonymousIds[0] ?? ''), segmentId: null, at, payload: JSON.stringify({ type: kind, timestamp: at, data }) };
  }
  if (kind === 'voucher.issued') {
    const v = e.data as { automationId?: unknown; code?: unknown; customerId?: unknown; issuedAt?: unknown; expiresAt?: unknown; value?: unknown };
    if (typeof v.customerId !== 'string' || typeof v.code !== 'string') return null;
    const data = { customerId: v.customerId, code: v.code, automationId: v.automationId, value: v.value, issuedAt: v.issuedAt, expiresAt: v.expiresAt };
    const at = typeof v.issuedAt === 'string' ? v.issuedAt : e.created.toISOString();
    return { customerId: v.customerId, segmentId: null, at, payload: JSON.stringify({ type: kind, timestamp: at, data }) };
  }
  const d = e.data as { segmentId?: unknown; segmentVersion?: unknown; customerId?: unknown; at?: unknown };
  if (typeof d.customerId !== 'string' || typeof d.segmentId !== 'string') return null;
  const at = typeof d.at === 'string' ? d.at : e.created.toISOString();
  return { customerId: d.customerId, segmentId: d.segmentId, at, payload: JSON.stringify({ type: kind, timestamp: at, data: { customerId: d.customerId, segmentId: d.segmentId, segmentVersion: d.segmentVersion, at } }) };
}

export class WebhookOutbox extends CheckpointedReactor {
  constructor(store: ReadStore, events: CairnEventStore, options: WebhookOutboxOptions = {}) {
    super(store, events, {
      name: 'webhook-outbox',
      types: Object.keys(KIND_OF_TYPE),
      onCommitted: options.onEnqueued,
      log: options.log,
      async commit(trx, batch) {
        const db = webhookDb(trx);
        const now = new Date().toISOString();
        const hooks = (await db.selectFrom('webhooks').select(['id', 'kinds', 'segment_id', 'created_at', 'requires_consent']).where('status', '=', 'enabled').execute()).map((h) => ({
          ...h,
          kinds: new Set(JSON.parse(h.kinds) as string[]),
        }));
        const payloads = batch.map((e) => ({ e, kind: KIND_OF_TYPE[e.type]!, p: payloadOf(KIND_OF_TYPE[e.type]!, e) }));
        // Consent, when an endpoint asks for it: the person's as the profiles know it now, read as of each change's instant.
        const consent = new Map<string, ConsentLog>();
        if (hooks.some((h) => h.requires_consent !== null)) {
          const ids = [...new Set(payloads.flatMap(({ p }) => (p === null ? [] : [p.customerId])))];
          for (let i = 0; i < ids.length; i += 500) for (const [id, profile] of await loadProfiles(trx, ids.slice(i, i + 500))) consent.set(id, profile.state.consent ?? {});
        }
        const rows: WebhookDeliveriesTable[] = [];
        for (const { e, kind, p } of payloads) {
          if (p === null) continue;
          for (const h of hooks) {
            if (!h.kinds.has(kind) || (h.segment_id !== null && p.segmentId !== null && h.segment_id !== p.segmentId) || e.created.toISOString() < h.created_at) continue;
            // An erasure reaches every endpoint that asked for it, whatever consent the person gave: it is their right, not marketing.
            const withheld = h.requires_consent === null || kind === 'privacy.erased' ? null : consentWithheldReason(consent.get(p.customerId), h.requires_consent, p.at);
            rows.push({
              id: `msg_${randomUUID().replace(/-/g, '')}`,
              webhook_id: h.id,
              source_event_id: e.id,
              position: padPosition(e.position!.commit),
              customer_id: p.customerId,
              kind,
              payload: p.payload,
              status: withheld === null ? 'pending' : 'withheld',
              withheld_reason: withheld,
              attempts: 0,
              next_attempt_at: now,
              created_at: now,
              retry_from: now,
              delivered_at: null,
            });
          }
        }
        for (let i = 0; i < rows.length; i += 200) {
          await db
            .insertInto('webhook_deliveries')
            .values(rows.slice(i, i + 200))
            .onConflict((oc) => oc.columns(['webhook_id', 'source_event_id']).doNothing())
            .execute();
        }
        return rows.length;
      },
    });
  }
}
