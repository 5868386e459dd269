/**
 * The checkpointed projector: one catch-up subscription to `$all` (filtered server-side to Cairn's
 * event types), events folded in batches of N events or T ms, whichever comes first, and the
 * read-model rows written in the same transaction as the checkpoint. A crash at any instant
 * therefore neither loses nor double-counts: on restart the subscription resumes after the last
 * committed checkpoint.
 *
 * Each transaction first checks that the stored checkpoint is still the one this projector last
 * committed (row-locked on PostgreSQL); if something else moved it (a rebuild's switch, a second
 * projector process), the batch is dropped and the projector resumes from the stored checkpoint.
 *
 * Poison events: when a batch throws and the read store is reachable, the batch is applied again
 * one event per transaction; an event that still throws is parked (`parked_events`, with the error
 * and the projection version) in the transaction that moves the checkpoint past it, and the
 * projection carries on (`onPoison: 'park'`, the default). With `onPoison: 'stop'` the projector
 * stops in state `failed` with the event and the error instead.
 */
import type { AllStreamSubscription } from '@eventstore/db-client';
import type { RecordedCairnEvent } from '@cairn/domain';
import { toRecordedCairnEvent, type CairnEventStore } from '@cairn/event-store';
import { readCheckpoint, storeUnavailableReason, writeCheckpoint, type ReadModelSchema, type ReadStore } from '@cairn/read-models';
import type { Transaction } from 'kysely';
import { countParked, errorMessage, listParked, parkEvent, type RetryResult } from './ops/parked';
import type { Projection } from './projection';

/** 'remote': the projector runs in another process; the API only sees its checkpoints. */
export type ProjectorState = 'stopped' | 'starting' | 'live' | 'catching-up' | 'retrying' | 'remote' | 'failed' | 'rebuilding';

export interface ProjectorOptions {
  readonly batchSize: number;
  readonly batchMs: number;
  /** What a poison event does: 'park' it and carry on (live, default) or 'stop' in state `failed`. */
  readonly onPoison?: 'park' | 'stop';
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

export interface ProjectorStatus {
  readonly name: string;
  readonly version: number;
  readonly state: ProjectorState;
  readonly checkpoint: bigint | null;
  readonly eventsProcessed: number;
  /** Events per second over the last ~10 s. */
  readonly rate: number;
  readonly lastError: string | null;
  /** Events parked for this projection (poison events). */
  readonly parked?: number;
  /** With onPoison 'stop': the event the projector stopped on. */
  readonly failedEvent?: { id: string; position: string; type: string; streamId: string } | null;
}

/** The stored checkpoint is not the one this projector committed last: something else moved it. */
class CheckpointMoved extends Error {
  constructor(readonly stored: bigint | null) {
    super(`checkpoint moved to ${stored ?? 'none'} by another writer`);
  }
}

export class Projector {
  private state: ProjectorState = 'stopped';
  private checkpoint: bigint | null = null;
  private processed = 0;
  private lastError: string | null = null;
  private parked = 0;
  private failedEvent: ProjectorStatus['failedEvent'] = null;
  private subscription: AllStreamSubscription | null = null;
  private buffer: RecordedCairnEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  private readonly samples: { at: number; processed: number }[] = [];
  private readonly waiters = new Set<{ position: bigint; resolve: () => void }>();

  constructor(
    private readonly events: CairnEventStore,
    private readonly store: ReadStore,
    readonly projection: Projection,
    private readonly options: ProjectorOptions,
  ) {}

  async start(): Promise<void> {
    this.stopping = false;
    this.state = 'starting';
    this.failedEvent = null;
    this.checkpoint = await readCheckpoint(this.store.db, this.projection.name);
    this.parked = (await countParked(this.store.db)).get(this.projection.name) ?? 0;
    this.subscribe();
  }

  /** Drains the current batch, commits it and unsubscribes. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const sub = this.subscription;
    this.subscription = null;
    if (sub) {
      sub.removeAllListeners('data');
      await sub.unsubscribe().catch(() => undefined);
    }
    await this.flush();
    if (this.state !== 'failed') this.state = 'stopped';
  }

  /**
   * Retries this projection's parked events (all, or the given ids) in the projector's own
   * sequence of transactions, so a retry never interleaves with a live batch.
   */
  retryParked(eventIds?: readonly string[]): Promise<RetryResult> {
    const run = this.flushing.then(() => this.retryNow(eventIds));
    this.flushing = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async retryNow(eventIds?: readonly string[]): Promise<RetryResult> {
    const parked = (await listParked(this.store.db, { projection: this.projection.name })).filter((p) => eventIds === undefined || eventIds.includes(p.eventId));
    parked.sort((a, b) => (BigInt(a.position) < BigInt(b.position) ? -1 : BigInt(a.position) > BigInt(b.position) ? 1 : 0));
    let retried = 0;
    const stillFailing: { eventId: string; error: string }[] = [];
    for (const p of parked) {
      try {
        await this.store.transaction(async (trx) => {
          await this.projection.applyBatch(trx, [p.event]);
          await trx.deleteFrom('parked_events').where('projection', '=', this.projection.name).where('event_id', '=', p.eventId).execute();
        });
        retried += 1;
        this.parked = Math.max(0, this.parked - 1);
      } catch (err) {
        const message = errorMessage(err);
        stillFailing.push({ eventId: p.eventId, error: message });
        await this.store.transaction((trx) => parkEvent(trx, this.projection, p.event, message));
      }
    }
    return { projection: this.projection.name, retried, stillFailing };
  }

  status(): ProjectorStatus {
    return {
      name: this.projection.name,
      version: this.projection.version,
      state: this.state,
      checkpoint: this.checkpoint,
      eventsProcessed: this.processed,
      rate: this.rate(),
      lastError: this.lastError,
      parked: this.parked,
      failedEvent: this.failedEvent,
    };
  }

  /** Resolves once the checkpoint has reached `position` (read-your-writes), or false on timeout. */
  waitFor(position: bigint, timeoutMs: number): Promise<boolean> {
    if (this.checkpoint !== null && this.checkpoint >= position) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = { position, resolve: () => resolve(true) };
      this.waiters.add(waiter);
      setTimeout(() => {
        if (this.waiters.delete(waiter)) resolve(false);
      }, timeoutMs).unref();
    });
  }

  private subscribe(): void {
    const sub = this.events.subscribeToCairnEvents(this.checkpoint);
    this.subscription = sub;
    this.state = 'catching-up';
    sub.on('data', (resolved) => {
      const event = toRecordedCairnEvent(resolved);
      if (event === null) return;
      this.buffer.push(event);
      if (this.buffer.length >= this.options.batchSize) {
        sub.pause();
        void this.flush().then(() => {
          if (this.subscription === sub) sub.resume();
        });
      } else if (this.timer === null) {
        this.timer = setTimeout(() => void this.flush(), this.options.batchMs);
      }
    });
    sub.on('caughtUp', () => {
      if (this.subscription === sub) this.state = 'live';
    });
    sub.on('fellBehind', () => {
      if (this.subscription === sub) this.state = 'catching-up';
    });
    sub.on('error', (err: Error) => this.fail(sub, err));
    sub.on('end', () => {
      if (!this.stopping && this.subscription === sub) this.fail(sub, new Error('subscription ended'));
    });
  }

  /**
   * Drops the subscription and resubscribes from the committed checkpoint. After a subscription
   * error the buffered events are contiguous after the checkpoint and are committed first; after a
   * failed batch they are discarded, since they follow events that did not commit.
   */
  private fail(sub: AllStreamSubscription, err: Error, commitBuffered = true): void {
    if (this.stopping || this.subscription !== sub) return;
    this.lastError = err.message;
    this.state = 'retrying';
    this.subscription = null;
    sub.removeAllListeners('data');
    void sub.unsubscribe().catch(() => undefined);
    this.options.log?.('warn', 'projector subscription failed; resubscribing', { projection: this.projection.name, error: err.message });
    if (!commitBuffered) this.buffer = [];
    const drained = commitBuffered ? this.flush() : Promise.resolve();
    void drained.finally(() => {
      if (this.stopping) return;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        if (!this.stopping) this.subscribe();
      }, 500);
      this.retryTimer.unref();
    });
  }

  /** Serialised: at most one transaction in flight, batches commit in log order. */
  private flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.commitBuffered());
    return this.flushing;
  }

  private async commitBuffered(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.buffer.length === 0 || this.state === 'failed') return;
    const batch = this.buffer;
    this.buffer = [];
    const last = batch[batch.length - 1].position;
    try {
      await this.store.transaction(async (trx) => {
        await this.guardCheckpoint(trx);
        await this.projection.applyBatch(trx, batch);
        await writeCheckpoint(trx, this.projection.name, last, batch.length);
      });
    } catch (err) {
      if (err instanceof CheckpointMoved) return this.resumeFromStored(err);
      const message = errorMessage(err);
      this.options.log?.('error', 'projector batch failed', { projection: this.projection.name, error: message });
      // A lost connection or a full disk is the store's fault even when a fresh connection answers.
      if (storeUnavailableReason(err) === undefined && (await this.storeReachable())) {
        // The store works: the batch holds an event this projection cannot fold. Find it.
        await this.isolate(batch);
        return;
      }
      // Nothing of the batch committed: resubscribe from the checkpoint.
      this.lastError = message;
      const sub = this.subscription;
      if (sub) this.fail(sub, err instanceof Error ? err : new Error(message), false);
      return;
    }
    this.committed(last, batch.length);
  }

  /** One event per transaction: the poison ones are parked (or stop the projector), the rest commit. */
  private async isolate(batch: readonly RecordedCairnEvent[]): Promise<void> {
    for (let i = 0; i < batch.length; i++) {
      const event = batch[i];
      try {
        await this.store.transaction(async (trx) => {
          await this.guardCheckpoint(trx);
          await this.projection.applyBatch(trx, [event]);
          await writeCheckpoint(trx, this.projection.name, event.position, 1);
        });
        this.committed(event.position, 1);
        continue;
      } catch (err) {
        if (err instanceof CheckpointMoved) return this.resumeFromStored(err);
        const message = errorMessage(err);
        if (storeUnavailableReason(err) !== undefined || !(await this.storeReachable())) {
          this.lastError = message;
          const sub = this.subscription;
          if (sub) this.fail(sub, err instanceof Error ? err : new Error(message), false);
          return;
        }
        const where = { id: event.id, position: event.position.toString(), type: event.type, streamId: event.streamId };
        this.lastError = `event ${event.id} at ${event.position} (${event.type}): ${message}`;
        if ((this.options.onPoison ?? 'park') === 'stop') {
          this.failedEvent = where;
          this.state = 'failed';
          this.buffer = [];
          this.options.log?.('error', 'projector stopped on a poison event', { projection: this.projection.name, event: where, error: message });
          const sub = this.subscription;
          this.subscription = null;
          if (sub) {
            sub.removeAllListeners('data');
            void sub.unsubscribe().catch(() => undefined);
          }
          return;
        }
        try {
          await this.store.transaction(async (trx) => {
            await this.guardCheckpoint(trx);
            await parkEvent(trx, this.projection, event, message);
            await writeCheckpoint(trx, this.projection.name, event.position, 1);
          });
        } catch (parkErr) {
          if (parkErr instanceof CheckpointMoved) return this.resumeFromStored(parkErr);
          const sub = this.subscription;
          if (sub) this.fail(sub, parkErr instanceof Error ? parkErr : new Error(errorMessage(parkErr)), false);
          return;
        }
        this.parked += 1;
        this.options.log?.('warn', 'poison event parked', { projection: this.projection.name, event: where, error: message });
        this.committed(event.position, 1);
      }
    }
  }

  private committed(last: bigint, count: number): void {
    this.checkpoint = last;
    this.processed += count;
    this.sample();
    for (const w of this.waiters) {
      if (last >= w.position) {
        this.waiters.delete(w);
        w.resolve();
      }
    }
  }

  /** Inside the batch's transaction: the stored checkpoint must still be ours. */
  private async guardCheckpoint(trx: Transaction<ReadModelSchema>): Promise<void> {
    let q = trx.selectFrom('checkpoints').select('position').where('projection', '=', this.projection.name);
    if (this.store.kind === 'postgres') q = q.forUpdate();
    const row = await q.executeTakeFirst();
    const stored = row === undefined ? null : BigInt(row.position);
    if (stored !== this.checkpoint) throw new CheckpointMoved(stored);
  }

  /** Another writer moved the checkpoint: drop what is buffered and resume after the stored one. */
  private resumeFromStored(moved: CheckpointMoved): void {
    this.options.log?.('warn', 'checkpoint moved by another writer; resuming from it', { projection: this.projection.name, checkpoint: String(moved.stored) });
    this.buffer = [];
    this.checkpoint = moved.stored;
    for (const w of this.waiters) {
      if (moved.stored !== null && moved.stored >= w.position) {
        this.waiters.delete(w);
        w.resolve();
      }
    }
    const sub = this.subscription;
    this.subscription = null;
    if (sub) {
      sub.removeAllListeners('data');
      void sub.unsubscribe().catch(() => undefined);
    }
    if (!this.stopping) this.subscribe();
  }

  private async storeReachable(): Promise<boolean> {
    try {
      await this.store.ping();
      return true;
    } catch {
      return false;
    }
  }

  private sample(): void {
    const now = Date.now();
    this.samples.push({ at: now, processed: this.processed });
    while (this.samples.length > 2 && now - this.samples[0].at > 10_000) this.samples.shift();
  }

  private rate(): number {
    if (this.samples.length < 2) return 0;
    const a = this.samples[0];
    const b = this.samples[this.samples.length - 1];
    const seconds = (Math.max(b.at, Date.now()) - a.at) / 1000;
    return seconds <= 0 ? 0 : Math.round((b.processed - a.processed) / seconds);
  }
}
