/**
 * The projection engine: ONE catch-up subscription to `$all` (filtered server-side to `cairn.`
 * types) feeds every projection of the process. Each event is decoded once; each projection folds
 * it into its in-memory state; the rows it changed are written once per flush, with every
 * projection's checkpoint, in ONE transaction.
 *
 * Batching adapts to the load: a batch is what arrived while the previous one was being folded
 * and written (at most `batchSize`), so catch-up folds large batches and live folds small ones.
 * A flush happens when nothing more is waiting (live: read-your-writes stays fast), at least every
 * `flushMs` while catching up, and when the states' memory passes the budget (then clean state
 * is evicted; projections load it back from the store when they need it).
 *
 * Exactly-once: rows and checkpoints commit together; in-memory state is only ever the committed
 * rows plus the batch being committed. On ANY failed commit every state is dropped, the buffer is
 * discarded and the subscription restarts from the committed checkpoints (after a back-off when
 * the store is unreachable). No path commits events that do not follow the checkpoint.
 *
 * Poison: an event a projection's fold rejects is parked (`parked_events`, with the error and the
 * projection version) in the transaction that moves that projection's checkpoint past it; the
 * other projections fold it as usual. A write the store rejects (a constraint) is rolled back to
 * the projection's savepoint; the projection alone is then replayed one event per transaction to
 * find and park the event. With `onPoison: 'stop'` the projection stops in state `failed`.
 *
 * Each transaction checks, row-locked on PostgreSQL, that the stored checkpoints are still the
 * ones this engine committed last; if something else moved one (a rebuild's switch, another
 * process), the engine restarts from the stored ones.
 */
import type { AllStreamSubscription } from '@eventstore/db-client';
import type { CairnEventStore } from '@cairn/event-store';
import { readCheckpoint, type ReadStore } from '@cairn/read-models';
import { countParked, errorMessage, listParked, parkEvent, retryRequests, type RetryResult } from '../ops/parked';
import type { LogEvent, Projection } from '../projection';
import { toLogEvent } from './decode';
import { CheckpointMoved, Folder, Staging, type PoisonReport, type Slot } from './folder';
import { Changes, writeFlush } from './rows';

/** 'remote': the projector runs in another process; the API only sees its checkpoints. */
export type ProjectorState = 'stopped' | 'starting' | 'live' | 'catching-up' | 'retrying' | 'remote' | 'failed' | 'rebuilding' | 'paused';

export interface ProjectorStatus {
  readonly name: string;
  readonly version: number;
  readonly state: ProjectorState;
  readonly checkpoint: bigint | null;
  readonly eventsProcessed: number;
  /** Events per second over the last ~10 s. */
  readonly rate: number;
  readonly lastError: string | null;
  readonly parked?: number;
  /** With onPoison 'stop': the event the projection stopped on. */
  readonly failedEvent?: PoisonReport | null;
}

export interface EngineOptions {
  /** Most events folded per step. */
  readonly batchSize: number;
  /** Live: how long the first event after a quiet spell waits for others to join its batch. */
  readonly batchMs: number;
  /** Catching up: write at least this often (ms). Default 1000. */
  readonly flushMs?: number;
  /** In-memory fold state above which the engine flushes and evicts (MB). Default 256. */
  readonly memoryBudgetMb?: number;
  readonly onPoison?: 'park' | 'stop';
  /** First back-off after a failure (ms, default 250); it doubles while failures go on, up to 5 s. */
  readonly retryMs?: number;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  /** Called after every commit and restart (a projector thread forwards its status then). */
  readonly onProgress?: () => void;
}

/**
 * What the rest of a process needs of the projection engine that runs its projections: this
 * engine itself, or a handle on one running in a worker thread (apps/cli projector-thread).
 */
export interface LiveProjector {
  has(name: string): boolean;
  status(): ProjectorStatus[];
  statusOf(name: string): ProjectorStatus | undefined;
  waitFor(position: bigint, timeoutMs: number): Promise<boolean>;
  pause(name: string): Promise<void>;
  resume(name: string): Promise<void>;
  retryParked(name: string, eventIds?: readonly string[]): Promise<RetryResult>;
}

/** Callers waiting until the projections have reached a log position (read-your-writes). */
export class PositionWaiters {
  private readonly waiting = new Set<{ position: bigint; resolve: () => void }>();

  constructor(private readonly reached: (position: bigint) => boolean) {}

  /** Resolves true once `reached(position)`, as seen by a later `check()`; false after `timeoutMs`. */
  wait(position: bigint, timeoutMs: number): Promise<boolean> {
    if (this.reached(position)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = { position, resolve: () => resolve(true) };
      this.waiting.add(waiter);
      setTimeout(() => {
        if (this.waiting.delete(waiter)) resolve(false);
      }, timeoutMs).unref();
    });
  }

  /** Resolves every waiter whose position is reached now. */
  check(): void {
    for (const w of this.waiting) {
      if (this.reached(w.position)) {
        this.waiting.delete(w);
        w.resolve();
      }
    }
  }
}

/** One async step at a time (the loop, parked retries, pauses). */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

export class ProjectionEngine implements LiveProjector {
  private readonly folder: Folder;
  private subscription: AllStreamSubscription | null = null;
  private subscriptionPaused = false;
  private generation = 0;
  private buffer: LogEvent[] = [];
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private requestTimer: NodeJS.Timeout | null = null;
  private retryDelay: number;
  private lastFlush = Date.now();
  private stopping = false;
  private started = false;
  private live = false;
  private retrying = false;
  private readonly mutex = new Mutex();
  private readonly waiters = new PositionWaiters((position) => this.reached(position));
  private readonly flushMs: number;
  private readonly budget: number;

  constructor(
    private readonly events: CairnEventStore,
    private readonly store: ReadStore,
    projections: readonly Projection[],
    private readonly options: EngineOptions,
  ) {
    this.folder = new Folder(store, projections, { onPoison: options.onPoison, guard: true, log: options.log });
    this.flushMs = options.flushMs ?? 1000;
    this.retryDelay = options.retryMs ?? 250;
    this.budget = (options.memoryBudgetMb ?? 256) * 1024 * 1024;
  }

  get projections(): Projection[] {
    return this.folder.slots.map((s) => s.projection);
  }

  has(name: string): boolean {
    return this.folder.slots.some((s) => s.projection.name === name);
  }

  async start(): Promise<void> {
    this.stopping = false;
    for (const s of this.folder.slots) await s.projection.setup?.(this.store.db);
    const parked = await countParked(this.store.db);
    for (const s of this.folder.slots) s.parked = parked.get(s.projection.name) ?? 0;
    this.started = true;
    await this.restart();
    // Retries asked for by processes that do not run the projections (the API of a split deployment).
    this.requestTimer = setInterval(() => void this.retryRequested(), 2000);
    this.requestTimer.unref();
  }

  private async retryRequested(): Promise<void> {
    if (this.stopping) return;
    try {
      const requests = await retryRequests(this.store.db, this.folder.slots.map((s) => s.projection.name));
      for (const [name, ids] of requests) await this.retryParked(name, ids);
    } catch (err) {
      this.options.log?.('warn', 'could not check for parked-event retry requests', { error: errorMessage(err) });
    }
  }

  /** Commits what is folded, then unsubscribes. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.requestTimer) clearInterval(this.requestTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.dropSubscription();
    await this.mutex.run(async () => {
      try {
        await this.flush();
      } catch (err) {
        this.options.log?.('warn', 'final flush failed; the next start resumes from the last commit', { error: errorMessage(err) });
      }
    });
    this.started = false;
  }

  status(): ProjectorStatus[] {
    return this.folder.slots.map((s) => this.slotStatus(s));
  }

  statusOf(name: string): ProjectorStatus | undefined {
    const s = this.folder.slots.find((x) => x.projection.name === name);
    return s ? this.slotStatus(s) : undefined;
  }

  private slotStatus(s: Slot): ProjectorStatus {
    const state: ProjectorState = s.failed
      ? 'failed'
      : !this.started
        ? 'stopped'
        : s.paused
          ? 'paused'
          : this.retrying
            ? 'retrying'
            : this.live && this.buffer.length === 0
              ? 'live'
              : 'catching-up';
    return {
      name: s.projection.name,
      version: s.projection.version,
      state,
      checkpoint: s.checkpoint,
      eventsProcessed: s.processed,
      rate: rate(s.samples),
      lastError: s.lastError,
      parked: s.parked,
      failedEvent: s.failedEvent,
    };
  }

  /** Resolves true once every running projection's checkpoint has reached `position`, false on timeout. */
  waitFor(position: bigint, timeoutMs: number): Promise<boolean> {
    return this.waiters.wait(position, timeoutMs);
  }

  private reached(position: bigint): boolean {
    return this.folder.slots.every((s) => s.failed || s.paused || (s.checkpoint !== null && s.checkpoint >= position));
  }

  /** Stops folding into the named projections (their batch is committed first): a rebuild switch. */
  pause(name: string): Promise<void> {
    return this.mutex.run(async () => {
      await this.flush();
      const s = this.slot(name);
      s.paused = true;
    });
  }

  /** Resumes a paused projection from its stored checkpoint, with fresh state. */
  resume(name: string): Promise<void> {
    return this.mutex.run(async () => {
      const s = this.slot(name);
      s.paused = false;
      s.failed = false;
      s.failedEvent = null;
      if (this.started && !this.stopping) await this.restartNow();
    });
  }

  private slot(name: string): Slot {
    return this.folder.slot(name);
  }

  /** Applies parked events of a projection again, between batches, each with the removal of its parked row. */
  retryParked(name: string, eventIds?: readonly string[]): Promise<RetryResult> {
    return this.mutex.run(async () => {
      const s = this.slot(name);
      await this.flush();
      const parked = (await listParked(this.store.db, { projection: name }))
        .filter((p) => eventIds === undefined || eventIds.includes(p.eventId))
        .sort((a, b) => (BigInt(a.position) < BigInt(b.position) ? -1 : BigInt(a.position) > BigInt(b.position) ? 1 : 0));
      let retried = 0;
      const stillFailing: { eventId: string; error: string }[] = [];
      for (const p of parked) {
        try {
          await s.state.prepare?.([p.event], this.store.db);
          const staging = new Staging(s.specs);
          s.state.apply(p.event, staging);
          staging.into(s.changes);
          await this.store.transaction(async (trx) => {
            await writeFlush(s.state, s.changes, trx, this.store.kind);
            await trx.deleteFrom('parked_events').where('projection', '=', name).where('event_id', '=', p.eventId).execute();
          });
          s.changes = new Changes(s.specs);
          s.state.committed?.();
          retried += 1;
          s.parked = Math.max(0, s.parked - 1);
        } catch (err) {
          // Whatever the fold did is not committed: start the projection's memory afresh.
          s.reset();
          const message = errorMessage(err);
          stillFailing.push({ eventId: p.eventId, error: message });
          await this.store.transaction((trx) => parkEvent(trx, s.projection, p.event, message));
        }
      }
      return { projection: name, retried, stillFailing };
    });
  }

  // ------------------------------------------------------------------ subscription

  private dropSubscription(): void {
    this.generation += 1;
    const sub = this.subscription;
    this.subscription = null;
    this.subscriptionPaused = false;
    this.buffer = [];
    if (sub) {
      sub.removeAllListeners();
      sub.on('error', () => undefined);
      void sub.unsubscribe().catch(() => undefined);
    }
  }

  /** (Re)reads the stored checkpoints, drops all in-memory state and subscribes after the lowest. */
  private restart(): Promise<void> {
    return this.mutex.run(() => this.restartNow());
  }

  private async restartNow(): Promise<void> {
    this.dropSubscription();
    if (this.stopping) return;
    for (const s of this.folder.slots) {
      s.checkpoint = await readCheckpoint(this.store.db, s.projection.name);
      s.reset();
    }
    this.resolveWaiters();
    const from = this.folder.resumeFrom();
    if (from !== undefined) this.subscribe(from);
  }

  private subscribe(from: bigint | null): void {
    const gen = this.generation;
    const sub = this.events.subscribeToCairnEvents(from);
    this.subscription = sub;
    this.live = false;
    const high = this.options.batchSize * 4;
    sub.on('data', (resolved) => {
      if (gen !== this.generation) return;
      const e = toLogEvent(resolved);
      if (e === null) return;
      this.buffer.push(e);
      if (this.buffer.length >= high && !this.subscriptionPaused) {
        this.subscriptionPaused = true;
        sub.pause();
      }
      this.kick();
    });
    sub.on('caughtUp', () => {
      if (gen !== this.generation) return;
      this.live = true;
      // Whatever was folded while catching up is written now.
      if (!this.running) {
        if (this.timer) clearTimeout(this.timer);
        this.timer = null;
        this.running = true;
        setImmediate(() => void this.loop(gen));
      }
    });
    sub.on('fellBehind', () => {
      if (gen === this.generation) this.live = false;
    });
    sub.on('error', (err: Error) => this.failed(gen, err));
    sub.on('end', () => {
      if (!this.stopping) this.failed(gen, new Error('subscription ended'));
    });
  }

  private failed(gen: number, err: Error): void {
    if (gen !== this.generation || this.stopping) return;
    this.recover(err);
  }

  /**
   * Everything not committed is dropped (buffer, in-memory states); the subscription restarts from
   * the stored checkpoints after a back-off that grows while the failures go on.
   */
  private recover(err: unknown): void {
    const message = errorMessage(err);
    this.options.log?.('warn', 'projection engine restarting from the committed checkpoints', { error: message });
    for (const s of this.folder.slots) s.lastError = message;
    this.retrying = true;
    this.dropSubscription();
    if (this.stopping) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(5000, this.retryDelay * 2);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.restart().catch((e: unknown) => this.recover(e));
    }, delay);
    this.retryTimer.unref();
  }

  // ------------------------------------------------------------------ the loop

  private kick(): void {
    if (this.running || this.stopping) return;
    if (this.buffer.length >= this.options.batchSize || !this.live) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.running = true;
      setImmediate(() => void this.loop(this.generation));
    } else if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        if (this.running) return;
        this.running = true;
        void this.loop(this.generation);
      }, this.options.batchMs);
    }
  }

  private async loop(gen: number): Promise<void> {
    try {
      await this.mutex.run(async () => {
        while (gen === this.generation && !this.stopping) {
          if (this.buffer.length === 0) {
            // Live: write now (read-your-writes). Catching up: the reader is only momentarily
            // behind the fold; write within flushMs, not per trickle.
            if (this.live || Date.now() - this.lastFlush >= this.flushMs) {
              await this.flush();
              if (this.buffer.length === 0) break;
              continue;
            }
            this.flushSoon(gen);
            break;
          }
          const isolating = this.folder.isolating;
          const batch = this.buffer.splice(0, isolating ? 1 : this.options.batchSize);
          if (this.subscriptionPaused && this.buffer.length < this.options.batchSize) {
            this.subscriptionPaused = false;
            this.subscription?.resume();
          }
          await this.folder.fold(batch);
          if (gen !== this.generation) return;
          // Live and drained: write now. Catching up, a drained buffer only means the reader is a
          // moment behind the fold: the empty-buffer branch above writes within flushMs.
          if (isolating || (this.live && this.buffer.length === 0) || Date.now() - this.lastFlush >= this.flushMs) await this.flush();
          else if (this.folder.memory() > this.budget) await this.folder.relieve(this.budget);
        }
      });
    } catch (err) {
      if (gen === this.generation) {
        if (err instanceof CheckpointMoved) {
          this.options.log?.('warn', 'a checkpoint was moved by another writer; resuming from the stored checkpoints', { projection: err.projection });
          void this.restart().catch((e: unknown) => this.recover(e));
        } else {
          this.recover(err);
        }
      }
    } finally {
      this.running = false;
      if (gen === this.generation && this.buffer.length > 0) this.kick();
    }
  }

  /** Catching up and out of events for now: flush when flushMs has passed, unless more arrive first. */
  private flushSoon(gen: number): void {
    if (this.timer !== null) return;
    const wait = Math.max(1, this.flushMs - (Date.now() - this.lastFlush));
    this.timer = setTimeout(() => {
      this.timer = null;
      if (gen !== this.generation || this.running) return;
      this.running = true;
      void this.loop(gen);
    }, wait);
  }

  /** Writes what is folded; afterwards evicts clean state when over the memory budget. */
  private async flush(): Promise<void> {
    this.lastFlush = Date.now();
    if (!this.folder.pending) return;
    await this.folder.flush();
    this.retrying = false;
    this.retryDelay = this.options.retryMs ?? 250;
    if (this.folder.memory() > this.budget) this.folder.evict();
    this.resolveWaiters();
  }

  private resolveWaiters(): void {
    this.options.onProgress?.();
    this.waiters.check();
  }
}

function rate(samples: readonly { at: number; processed: number }[]): number {
  if (samples.length < 2) return 0;
  const a = samples[0]!;
  const b = samples[samples.length - 1]!;
  const seconds = (Math.max(b.at, Date.now()) - a.at) / 1000;
  return seconds <= 0 ? 0 : Math.round((b.processed - a.processed) / seconds);
}
