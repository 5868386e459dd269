/**
 * A reactor over the log: a catch-up subscription to `$all`, filtered server-side to some event
 * types, whose batches are committed by `commit` in one read-store transaction together with
 * the reactor's cursor (`webhook_cursor`, one row per reactor name). After a crash it resumes from
 * the stored cursor, so each event's rows are committed once or not yet, never twice.
 *
 * Why not a projection of the engine: the engine decodes the ingest catalogue and the identity
 * commands only (`engine/decode.ts`); segment membership changes and vouchers are other `cairn.`
 * events it never feeds to a projection. The cursor is guarded like the engine's checkpoint: a
 * batch whose stored cursor is not the one this process committed last (another process moved
 * it) rolls back, and the subscription resumes from the store.
 */
import { START, eventTypeFilter, type AllStreamRecordedEvent, type AllStreamSubscription } from '@eventstore/db-client';
import type { Transaction } from 'kysely';
import type { CairnEventStore } from '@cairn/event-store';
import type { ReadModelSchema, ReadStore } from '@cairn/read-models';
import { padPosition, webhookDb } from './webhook-store';

const MAX_BATCH = 500;

class CursorMoved extends Error {}

export interface ReactorDefinition {
  /** The cursor's name. */
  readonly name: string;
  /** Event types (prefixes) the subscription reads. */
  readonly types: readonly string[];
  /** Writes the batch's rows inside the cursor's transaction; returns how many rows. */
  commit(trx: Transaction<ReadModelSchema>, batch: readonly AllStreamRecordedEvent[]): Promise<number>;
  /** After a commit that wrote rows. */
  readonly onCommitted?: () => void;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

export class CheckpointedReactor {
  private stopped = true;
  private sub: AllStreamSubscription | null = null;
  private committed: string | null = null;
  private buffer: AllStreamRecordedEvent[] = [];
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private failure: unknown = null;
  private loop: Promise<void> | null = null;
  /** Events committed since start. */
  processed = 0;

  constructor(
    private readonly store: ReadStore,
    private readonly events: CairnEventStore,
    private readonly def: ReactorDefinition,
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

  /** The stored cursor: the log position of the last event committed. */
  async cursor(): Promise<bigint | null> {
    const row = await webhookDb(this.store.db).selectFrom('webhook_cursor').select('position').where('name', '=', this.def.name).executeTakeFirst();
    return row?.position ? BigInt(row.position) : null;
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (!this.stopped) {
      try {
        const from = await this.cursor();
        this.committed = from === null ? null : padPosition(from);
        this.failure = null;
        this.sub = this.events.client.subscribeToAll({ fromPosition: from === null ? START : { commit: from, prepare: from }, filter: eventTypeFilter({ prefixes: [...this.def.types] }) });
        for await (const r of this.sub) {
          if (this.stopped || this.failure) break;
          if (!r.event || !r.event.position || !this.def.types.includes(r.event.type)) continue;
          this.buffer.push(r.event as AllStreamRecordedEvent);
          if (this.buffer.length >= MAX_BATCH) await this.flush();
          else this.timer ??= setTimeout(() => void this.flush(), 10);
          backoff = 100;
        }
        await this.chain;
        if (this.failure) throw this.failure;
      } catch (err) {
        if (!this.stopped && !(err instanceof CursorMoved)) this.def.log?.('warn', `${this.def.name}: subscription failed; resuming from its cursor`, { error: err instanceof Error ? err.message : String(err) });
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

  /** Commits the buffered events and the cursor in one transaction (flushes run one after another). */
  private flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.buffer.splice(0);
    if (batch.length === 0) return this.chain;
    this.chain = this.chain.then(async () => {
      if (this.failure) return;
      try {
        const rows = await this.commit(batch);
        this.processed += batch.length;
        if (rows > 0) this.def.onCommitted?.();
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
    const rows = await this.store.transaction(async (trx) => {
      const db = webhookDb(trx);
      const stored = await db.selectFrom('webhook_cursor').select('position').where('name', '=', this.def.name).executeTakeFirst();
      if ((stored?.position ?? null) !== this.committed) throw new CursorMoved(`the ${this.def.name} cursor was moved by another process`);
      const n = await this.def.commit(trx, batch);
      await db
        .insertInto('webhook_cursor')
        .values({ name: this.def.name, position: last, updated_at: now })
        .onConflict((oc) => oc.column('name').doUpdateSet({ position: last, updated_at: now }))
        .execute();
      return n;
    });
    this.committed = last;
    return rows;
  }
}
