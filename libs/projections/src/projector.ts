/**
 * The checkpointed projector: one catch-up subscription to `$all` (filtered server-side to Cairn's
 * event types), events folded in batches of N events or T ms, whichever comes first, and the
 * read-model rows written in the same transaction as the checkpoint. A crash at any instant
 * therefore neither loses nor double-counts: on restart the subscription resumes after the last
 * committed checkpoint.
 */
import type { AllStreamSubscription } from '@eventstore/db-client';
import type { RecordedCairnEvent } from '@cairn/domain';
import { toRecordedCairnEvent, type CairnEventStore } from '@cairn/event-store';
import { readCheckpoint, writeCheckpoint, type ReadStore } from '@cairn/read-models';
import type { Projection } from './projection';

/** 'remote': the projector runs in another process; the API only sees its checkpoints. */
export type ProjectorState = 'stopped' | 'starting' | 'live' | 'catching-up' | 'retrying' | 'remote';

export interface ProjectorOptions {
  readonly batchSize: number;
  readonly batchMs: number;
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
}

export class Projector {
  private state: ProjectorState = 'stopped';
  private checkpoint: bigint | null = null;
  private processed = 0;
  private lastError: string | null = null;
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
    this.checkpoint = await readCheckpoint(this.store.db, this.projection.name);
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
    this.state = 'stopped';
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
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    const last = batch[batch.length - 1].position;
    try {
      await this.store.transaction(async (trx) => {
        await this.projection.applyBatch(trx, batch);
        await writeCheckpoint(trx, this.projection.name, last, batch.length);
      });
    } catch (err) {
      // Nothing of the batch committed: resubscribe from the checkpoint.
      const message = err instanceof Error ? err.message : String(err);
      this.lastError = message;
      this.options.log?.('error', 'projector batch failed', { projection: this.projection.name, error: message });
      const sub = this.subscription;
      if (sub) this.fail(sub, err instanceof Error ? err : new Error(message), false);
      return;
    }
    this.checkpoint = last;
    this.processed += batch.length;
    this.sample();
    for (const w of this.waiters) {
      if (last >= w.position) {
        this.waiters.delete(w);
        w.resolve();
      }
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
