/**
 * Enqueues webhook deliveries exactly once per source event: a catch-up subscription to `$all`
 * (filtered server-side to the source event types) whose cursor is stored in the same
 * transaction as the outbox rows it produced. After a crash the subscription resumes from the
 * stored cursor, so an event is enqueued once or not yet, never twice (and the outbox's unique
 * (webhook, source event) key would refuse a second row anyway).
 *
 * Why its own subscription and not a projection of the engine: the engine folds the ingest
 * catalogue and identity commands only (`engine/decode.ts`); segment membership changes are other
 * `cairn.` events (`cairn.segment.entered.v1` in `segment-members-<id>`), which it never decodes.
 * The cursor is guarded like the engine's checkpoint: a flush whose stored cursor is not the one
 * this process committed last (another process moved it) rolls back and resumes from the store.
 */
import { randomUUID } from 'crypto';
import { START, eventTypeFilter, type AllStreamRecordedEvent, type AllStreamSubscription } from '@eventstore/db-client';
import type { CairnEventStore } from '@cairn/event-store';
import type { ReadStore } from '@cairn/read-models';
import { SEGMENT_ENTERED, SEGMENT_EXITED } from '../segments/segment-engine';
import { padPosition, webhookDb, type WebhookDeliveriesTable, type WebhookKind } from './webhook-store';

const CURSOR = 'webhook-outbox';
const KIND_OF_TYPE: Readonly<Record<string, WebhookKind>> = { [SEGMENT_ENTERED]: 'segment.entered', [SEGMENT_EXITED]: 'segment.exited' };
const MAX_BATCH = 500;

class CursorMoved extends Error {}

export interface WebhookOutboxOptions {
  /** Called after a commit that enqueued deliveries (the delivery worker starts at once). */
  readonly onEnqueued?: () => void;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

/** The payload a receiver gets for a source event (Standard Webhooks: type, timestamp, data). */
export function payloadOf(kind: WebhookKind, e: AllStreamRecordedEvent): { customerId: string; segmentId: string; payload: string } | null {
  const d = e.data as { segmentId?: unknown; segmentVersion?: unknown; customerId?: unknown; at?: unknown };
  if (typeof d.customerId !== 'string' || typeof d.segmentId !== 'string') return null;
  const at = typeof d.at === 'string' ? d.at : e.created.toISOString();
  return { customerId: d.customerId, segmentId: d.segmentId, payload: JSON.stringify({ type: kind, timestamp: at, data: { customerId: d.customerId, segmentId: d.segmentId, segmentVersion: d.segmentVersion, at } }) };
}

export class WebhookOutbox {
  private stopped = true;
  private sub: AllStreamSubscription | null = null;
  private committed: string | null = null;
  private buffer: AllStreamRecordedEvent[] = [];
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private failure: unknown = null;
  private loop: Promise<void> | null = null;
  /** Events enqueued-or-skipped since start (for the bench). */
  processed = 0;

  constructor(
    private readonly store: ReadStore,
    private readonly events: CairnEventStore,
    private readonly options: WebhookOutboxOptions = {},
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.sub?.unsubscribe().catch(() => undefined);
    await this.loop;
    await this.chain;
  }

  /** The stored cursor: the log position of the last source event enqueued. */
  async cursor(): Promise<bigint | null> {
    const row = await webhookDb(this.store.db).selectFrom('webhook_cursor').select('position').where('name', '=', CURSOR).executeTakeFirst();
    return row?.position ? BigInt(row.position) : null;
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (!this.stopped) {
      try {
        const from = await this.cursor();
        this.committed = from === null ? null : padPosition(from);
        this.failure = null;
        this.sub = this.events.client.subscribeToAll({
          fromPosition: from === null ? START : { commit: from, prepare: from },
          filter: eventTypeFilter({ prefixes: Object.keys(KIND_OF_TYPE) }),
        });
        for await (const r of this.sub) {
          if (this.stopped || this.failure) break;
          if (!r.event || !r.event.position || !KIND_OF_TYPE[r.event.type]) continue;
          this.buffer.push(r.event as AllStreamRecordedEvent);
          if (this.buffer.length >= MAX_BATCH) await this.flush();
          else this.timer ??= setTimeout(() => void this.flush(), 10);
          backoff = 100;
        }
        await this.chain;
        if (this.failure) throw this.failure;
      } catch (err) {
        if (!this.stopped && !(err instanceof CursorMoved)) this.options.log?.('warn', 'webhook outbox subscription failed; resuming from its cursor', { error: err instanceof Error ? err.message : String(err) });
      } finally {
        if (this.timer) clearTimeout(this.timer);
        this.timer = null;
        this.buffer = [];
        await this.sub?.unsubscribe().catch(() => undefined);
        this.sub = null;
      }
      if (this.stopped) break;
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 30_000);
    }
  }

  /** Commits the buffered events' deliveries and the cursor in one transaction (flushes run one after another). */
  private flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.buffer.splice(0);
    if (batch.length === 0) return this.chain;
    this.chain = this.chain.then(async () => {
      if (this.failure) return;
      try {
        const enqueued = await this.commit(batch);
        this.processed += batch.length;
        if (enqueued > 0) this.options.onEnqueued?.();
      } catch (err) {
        // Nothing of this batch is committed: drop the subscription and resume from the stored cursor.
        this.failure = err;
        void this.sub?.unsubscribe().catch(() => undefined);
      }
    });
    return this.chain;
  }

  private async commit(batch: readonly AllStreamRecordedEvent[]): Promise<number> {
    const last = padPosition(batch[batch.length - 1]!.position!.commit);
    const now = new Date().toISOString();
    const enqueued = await this.store.transaction(async (trx) => {
      const db = webhookDb(trx);
      const stored = await db.selectFrom('webhook_cursor').select('position').where('name', '=', CURSOR).executeTakeFirst();
      if ((stored?.position ?? null) !== this.committed) throw new CursorMoved('the webhook outbox cursor was moved by another process');
      const hooks = (await db.selectFrom('webhooks').select(['id', 'kinds', 'segment_id', 'created_at']).where('status', '=', 'enabled').execute()).map((h) => ({
        ...h,
        kinds: new Set(JSON.parse(h.kinds) as string[]),
      }));
      const rows: WebhookDeliveriesTable[] = [];
      for (const e of batch) {
        const kind = KIND_OF_TYPE[e.type]!;
        const p = payloadOf(kind, e);
        if (p === null) continue;
        for (const h of hooks) {
          if (!h.kinds.has(kind) || (h.segment_id !== null && h.segment_id !== p.segmentId) || e.created.toISOString() < h.created_at) continue;
          rows.push({
            id: `msg_${randomUUID().replace(/-/g, '')}`,
            webhook_id: h.id,
            source_event_id: e.id,
            position: padPosition(e.position!.commit),
            customer_id: p.customerId,
            kind,
            payload: p.payload,
            status: 'pending',
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
      await db
        .insertInto('webhook_cursor')
        .values({ name: CURSOR, position: last, updated_at: now })
        .onConflict((oc) => oc.column('name').doUpdateSet({ position: last, updated_at: now }))
        .execute();
      return rows.length;
    });
    this.committed = last;
    return enqueued;
  }
}
