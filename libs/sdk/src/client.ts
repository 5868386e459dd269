import { backoffDelay, isRetryableStatus, parseRetryAfter } from './backoff';
import { pageContext } from './context';
import { Emitter } from './emitter';
import { CairnDeliveryError, CairnValidationError } from './errors';
import { TabStore, type PersistedItem } from './tabs';
import { isoWithOffset } from './time';
import type {
  CairnEvents,
  CairnOptions,
  CairnStats,
  Channel,
  DropReason,
  EventContext,
  EventInput,
  EventKind,
  FetchLike,
  FieldError,
  IdentifyCall,
  LogPosition,
  PurchaseCall,
  ConsentCall,
  ReferralCall,
  ReturnCall,
  ReviewCall,
  StorageLike,
  TimerHandle,
  Timers,
  ViewCall,
  WireEvent,
} from './types';
import { uuidv7 } from './uuid';
import { validateEvent, withoutNulls } from './validate';

/** The server's per-request limits. */
export const SERVER_MAX_EVENTS = 500;
export const SERVER_MAX_BYTES = 1_000_000;
/** Browsers refuse keepalive requests once the in-flight keepalive bodies exceed 64 KiB. */
export const KEEPALIVE_MAX_BYTES = 65_536;
const ENVELOPE_BYTES = '{"events":[]}'.length;

interface Item {
  readonly event: WireEvent;
  readonly json: string;
  readonly bytes: number;
  attempts: number;
}

type PostResult =
  | { kind: 'response'; status: number; retryAfter: string | null; text: string }
  | { kind: 'network'; reason: string };

const defaultTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Node timers keep the process alive unless unref'd; browsers return numbers (nothing to do). */
function unref(h: TimerHandle): TimerHandle {
  const t = h as { unref?: () => void } | null;
  if (t && typeof t === 'object' && typeof t.unref === 'function') t.unref();
  return h;
}

function batchBytes(items: readonly Item[]): number {
  let n = ENVELOPE_BYTES + Math.max(0, items.length - 1);
  for (const it of items) n += it.bytes;
  return n;
}

function positive(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new CairnValidationError(`options.${name}`, 'must be a non-negative number');
  return v;
}

function detectBrowser(): boolean {
  return typeof window !== 'undefined' && typeof document !== 'undefined';
}

function browserStorage(): StorageLike | null {
  try {
    const s = globalThis.localStorage;
    if (!s) return null;
    const probe = '__cairn_probe__';
    s.setItem(probe, '1');
    s.removeItem(probe);
    return s;
  } catch {
    return null; // disabled (privacy mode, sandboxed iframe)
  }
}

/**
 * The Cairn shop SDK. Typed calls validate and queue an event (returning its id); the queue is sent
 * in batches, at least once, with retries; the server deduplicates by event id, so a re-send is
 * reported `duplicate`, never counted twice. Every event ends in exactly one report: delivered,
 * rejected or dropped.
 */
export class Cairn extends Emitter<CairnEvents> {
  private readonly writeKey: string;
  private readonly url: string;
  private readonly flushAt: number;
  private readonly flushIntervalMs: number;
  private readonly maxQueueSize: number;
  private readonly maxRetries: number;
  private readonly timeoutMs: number;
  private readonly maxBatchEvents: number;
  private readonly maxBatchBytes: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly channel: Channel | undefined;
  private readonly baseContext: EventContext | undefined;
  private readonly browser: boolean;
  private readonly autoContext: boolean;
  private readonly keepalive: boolean;
  private readonly heartbeatMs: number;
  private readonly leaseMs: number;
  private readonly unloadGraceMs: number;
  private readonly prefix: string;
  private readonly fetchImpl: FetchLike;
  private readonly timers: Timers;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly storage: StorageLike | null;
  private readonly win: CairnOptions['window'];
  private readonly doc: CairnOptions['document'];
  private readonly encoder = new TextEncoder();

  private queue: Item[] = [];
  private readonly inFlight = new Set<Item>();
  private inFlightBytes = 0;
  private readonly counters = { delivered: 0, duplicates: 0, rejected: 0, dropped: 0, retries: 0, peakQueued: 0 };
  private failures = 0;
  private learnedMaxEvents = SERVER_MAX_EVENTS;
  private learnedMaxBytes = SERVER_MAX_BYTES;
  private backoffTimer: TimerHandle | undefined;
  private backoffUntil = 0;
  private flushTimer: TimerHandle | undefined;
  private heartbeatTimer: TimerHandle | undefined;
  private pumping = false;
  private closed = false;
  private terminated = false;
  private idleWaiters: Array<() => void> = [];
  private readonly controllers = new Set<AbortController>();
  private readonly detachHooks: Array<() => void> = [];
  private tabs: TabStore | undefined;
  private persistScheduled = false;
  private lastSavedIds = new Set<string>();
  private reclaiming = false;
  private anonId: string | undefined;
  private customerId: string | undefined;

  constructor(options: CairnOptions) {
    super();
    if (!options || typeof options.writeKey !== 'string' || options.writeKey === '')
      throw new CairnValidationError('options.writeKey', 'is required');
    if (typeof options.host !== 'string' || !/^https?:\/\//.test(options.host))
      throw new CairnValidationError('options.host', 'must be an http(s) URL');
    this.writeKey = options.writeKey;
    this.url = `${options.host.replace(/\/+$/, '')}/v1/events`;
    this.browser = options.browser ?? detectBrowser();
    this.flushAt = Math.max(1, positive('flushAt', options.flushAt, 20));
    this.flushIntervalMs = positive('flushIntervalMs', options.flushIntervalMs, 5000);
    this.maxQueueSize = Math.max(1, positive('maxQueueSize', options.maxQueueSize, 10_000));
    this.maxRetries = positive('maxRetries', options.maxRetries, 10);
    this.timeoutMs = positive('timeoutMs', options.timeoutMs, 10_000);
    this.maxBatchEvents = Math.min(SERVER_MAX_EVENTS, Math.max(1, positive('maxBatchEvents', options.maxBatchEvents, 100)));
    this.keepalive = options.keepalive ?? this.browser;
    const byteCap = this.keepalive ? KEEPALIVE_MAX_BYTES - 4096 : SERVER_MAX_BYTES - 24_000;
    this.maxBatchBytes = Math.min(byteCap, positive('maxBatchBytes', options.maxBatchBytes, this.keepalive ? 60_000 : 512_000));
    this.retryBaseMs = positive('retryBaseMs', options.retryBaseMs, 500);
    this.retryMaxMs = positive('retryMaxMs', options.retryMaxMs, 30_000);
    this.maxRetryAfterMs = positive('maxRetryAfterMs', options.maxRetryAfterMs, 300_000);
    this.channel = options.channel ?? (this.browser ? 'web' : undefined);
    this.baseContext = options.context;
    this.autoContext = options.autoContext ?? this.browser;
    this.heartbeatMs = positive('heartbeatMs', options.heartbeatMs, 5000);
    this.leaseMs = positive('leaseMs', options.leaseMs, 90_000);
    this.unloadGraceMs = positive('unloadGraceMs', options.unloadGraceMs, 3000);
    this.prefix = options.storagePrefix ?? 'cairn';
    this.timers = options.timers ?? defaultTimers;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    const f = options.fetch ?? (typeof globalThis.fetch === 'function' ? globalThis.fetch.bind(globalThis) : undefined);
    if (!f) throw new CairnValidationError('options.fetch', 'no global fetch: pass one');
    this.fetchImpl = f as FetchLike;
    this.win = options.window ?? (this.browser && typeof window !== 'undefined' ? window : undefined);
    this.doc = options.document ?? (this.browser && typeof document !== 'undefined' ? document : undefined);
    this.storage = options.storage !== undefined ? options.storage : this.browser ? browserStorage() : null;

    if (this.browser) {
      this.anonId = this.readOrCreate(`${this.prefix}:anonymousId`);
      this.customerId = this.safeGet(`${this.prefix}:customerId`) ?? undefined;
    }
    if (this.storage) {
      const settle = positive('claimSettleMs', options.claimSettleMs, 100);
      this.tabs = new TabStore(this.storage, this.prefix, uuidv7(this.now()), {
        leaseMs: this.leaseMs,
        claimSettleMs: settle,
        now: this.now,
        sleep: (ms) => new Promise((resolve) => unref(this.timers.setTimeout(resolve, ms))),
      });
      this.tryStorage(() => this.tabs!.heartbeat(this.now() + this.leaseMs));
      this.scheduleHeartbeat();
      void this.reclaimDeadTabs();
    }
    if (this.browser) this.attachPageHooks();
  }

  // ---------------------------------------------------------------- typed calls

  /** A product page view. Returns the event id. */
  view(input: ViewCall): string {
    return this.track('view', input);
  }
  /** An order. `totalMinor` must equal sum(quantity × unitPriceMinor) + shipping + tax − discount. */
  purchase(input: PurchaseCall): string {
    return this.track('purchase', input);
  }
  /** A return / refund of (part of) an order. */
  return(input: ReturnCall): string {
    return this.track('return', input);
  }
  /** A product review, rating 1–5. */
  review(input: ReviewCall): string {
    return this.track('review', input);
  }
  /** A referral made by `customerId` (the referrer). */
  referral(input: ReferralCall): string {
    return this.track('referral', input);
  }
  /**
   * Consent granted or withdrawn for one purpose (`email_marketing`, `personalization`,
   * `analytics`, or the shop's own), with where it was given (`source`) and the policy version shown.
   */
  consent(input: ConsentCall): string {
    return this.track('consent', input);
  }
  /** Links the anonymous visitor to a customer. In browsers later events carry this customerId. */
  identify(input: IdentifyCall): string {
    const id = this.track('identify', input);
    if (this.browser) {
      this.customerId = input.customerId;
      this.safeSet(`${this.prefix}:customerId`, input.customerId);
    }
    return id;
  }

  /** The browser visitor's persisted anonymous id (undefined outside browsers). */
  anonymousId(): string | undefined {
    return this.anonId;
  }

  /** Forgets the identified customer and starts a new anonymous id (e.g. on logout). */
  reset(): void {
    this.customerId = undefined;
    this.safeRemove(`${this.prefix}:customerId`);
    if (this.browser) {
      this.anonId = uuidv7(this.now());
      this.safeSet(`${this.prefix}:anonymousId`, this.anonId);
    }
  }

  stats(): CairnStats {
    const { delivered, duplicates, rejected, dropped, retries, peakQueued } = this.counters;
    return { queued: this.queue.length, inFlight: this.inFlight.size, delivered, duplicates, rejected, dropped, retries, peakQueued };
  }

  /** Resolves when every event queued so far is settled (delivered, rejected or dropped), retries included. */
  flush(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.pump();
    return done;
  }

  /**
   * Stops accepting events and waits (keeping the process alive) until everything is settled or
   * `timeoutMs` (default 30 000) passes. On timeout, events still unsettled are reported `dropped`
   * ('shutdown-timeout'), or, when persisted (browsers), left in storage for the next page/tab.
   */
  async closeAndFlush(opts: { timeoutMs?: number } = {}): Promise<CairnStats> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    this.closed = true;
    this.clearFlushTimer();
    let timer: TimerHandle | undefined;
    const timedOut = await Promise.race([
      this.flush().then(() => false),
      new Promise<boolean>((resolve) => {
        timer = this.timers.setTimeout(() => resolve(true), timeoutMs); // deliberately not unref'd
      }),
    ]);
    this.timers.clearTimeout(timer);
    if (timedOut && !this.isIdle()) {
      const left = [...this.inFlight, ...this.queue];
      if (this.tabs) {
        this.persistNow();
        this.tryStorage(() => this.tabs!.heartbeat(this.now()));
      } else {
        for (const it of left) this.drop(it, 'shutdown-timeout', `not delivered within closeAndFlush timeout (${timeoutMs} ms)`);
      }
      this.terminated = true;
      for (const c of this.controllers) c.abort();
      this.queue = [];
      this.inFlight.clear();
      this.inFlightBytes = 0;
    } else if (this.tabs) {
      this.tryStorage(() => this.tabs!.clear());
    }
    this.terminated = true;
    this.shutdownTimers();
    for (const detach of this.detachHooks.splice(0)) detach();
    this.resolveIdle(true);
    return this.stats();
  }

  // ---------------------------------------------------------------- enqueue

  /**
   * Queues an event and returns its id. An invalid event is never thrown at the caller (a script
   * that did not catch would die with its queue unsent): it is reported on `rejected`, with the
   * field and the reason, like an event the server refuses, and nothing is queued.
   */
  private track(type: EventKind, input: object): string {
    const given = input !== null && typeof input === 'object' ? (input as { id?: unknown }).id : undefined;
    // The caller's id as given (validateEvent checks it), else a new UUIDv7.
    const id = (given === undefined || given === null ? uuidv7(this.now()) : given) as string;
    try {
      return this.enqueue(type, input, id);
    } catch (err) {
      if (!(err instanceof CairnValidationError)) throw err;
      const event = { ...(input !== null && typeof input === 'object' ? withoutNulls(input) : {}), type, id } as WireEvent;
      this.reject({ event, json: '', bytes: 0, attempts: 0 }, err.message, [{ field: err.field, message: err.reason }]);
      return String(id);
    }
  }

  private enqueue(type: EventKind, input: object, id: string): string {
    if (input === null || typeof input !== 'object') throw new CairnValidationError('input', 'must be an object');
    // null for an optional field means absent: none goes on the wire.
    const given = withoutNulls(input) as Partial<EventInput> & Record<string, unknown>;
    const now = this.now();
    const channel = given.channel ?? this.channel;
    if (channel === undefined)
      throw new CairnValidationError('channel', 'is required outside browsers: pass it per call or as the `channel` option');
    const context = this.contextFor(given.context);
    const event = {
      ...given,
      type,
      id,
      occurredAt: given.occurredAt ?? isoWithOffset(now),
      channel,
      ...(given.customerId ?? this.customerId ? { customerId: given.customerId ?? this.customerId } : {}),
      ...(given.anonymousId ?? this.anonId ? { anonymousId: given.anonymousId ?? this.anonId } : {}),
      ...(context ? { context } : {}),
    } as WireEvent;
    validateEvent(event, now);
    const json = JSON.stringify(event);
    const bytes = this.encoder.encode(json).length;
    if (bytes + ENVELOPE_BYTES > this.maxBatchBytes)
      throw new CairnValidationError('event', `is ${bytes} bytes serialized; at most ${this.maxBatchBytes - ENVELOPE_BYTES} fit in a request`);
    const item: Item = { event, json, bytes, attempts: 0 };
    if (this.closed) {
      this.drop(item, 'closed', 'the client is closed (closeAndFlush was called)');
      return event.id;
    }
    if (this.queue.length + this.inFlight.size >= this.maxQueueSize) {
      this.drop(item, 'queue-full', `queue is full (maxQueueSize ${this.maxQueueSize})`);
      return event.id;
    }
    this.queue.push(item);
    this.notePeak();
    this.schedulePersist();
    if (this.queue.length >= this.flushAt) this.pump();
    else this.ensureFlushTimer();
    return event.id;
  }

  private contextFor(callContext: EventContext | undefined): EventContext | undefined {
    const auto = this.autoContext ? pageContext({ location: this.win?.location, navigator: this.win?.navigator, referrer: this.doc?.referrer }) : undefined;
    const merged = { ...auto, ...this.baseContext, ...callContext };
    return Object.keys(merged).length > 0 ? merged : undefined;
  }

  private notePeak(): void {
    const n = this.queue.length + this.inFlight.size;
    if (n > this.counters.peakQueued) this.counters.peakQueued = n;
  }

  // ---------------------------------------------------------------- sending

  private isIdle(): boolean {
    return this.queue.length === 0 && this.inFlight.size === 0;
  }

  private resolveIdle(force = false): void {
    if (!force && !this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private pump(): void {
    if (this.pumping || this.terminated || this.backoffTimer !== undefined) return;
    this.pumping = true;
    void this.runPump();
  }

  private async runPump(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.terminated && this.backoffTimer === undefined) {
        const batch = this.takeBatch(this.maxBatchBytes, false);
        await this.send(batch, this.keepalive);
      }
    } finally {
      this.pumping = false;
      if (this.queue.length > 0 && this.backoffTimer === undefined && !this.terminated) this.ensureFlushTimer();
      this.resolveIdle();
    }
  }

  /** Takes a batch from the front: at most maxBatchEvents (and what 413s taught), within maxBytes. */
  private takeBatch(maxBytes: number, strict: boolean): Item[] {
    const limitBytes = Math.min(maxBytes, this.learnedMaxBytes);
    const limitEvents = Math.min(this.maxBatchEvents, this.learnedMaxEvents);
    let n = 0;
    let bytes = ENVELOPE_BYTES;
    while (n < this.queue.length && n < limitEvents) {
      const add = this.queue[n].bytes + (n > 0 ? 1 : 0);
      if (bytes + add > limitBytes && (n > 0 || strict)) break;
      bytes += add;
      n++;
    }
    return this.queue.splice(0, n);
  }

  private async send(items: Item[], keepalive: boolean): Promise<void> {
    const bytes = batchBytes(items);
    for (const it of items) this.inFlight.add(it);
    this.inFlightBytes += bytes;
    const result = await this.post(items, keepalive);
    if (this.terminated) return;
    this.inFlightBytes -= bytes;
    for (const it of items) this.inFlight.delete(it);
    this.handle(items, bytes, result);
    this.schedulePersist();
    this.resolveIdle();
  }

  private async post(items: readonly Item[], keepalive: boolean): Promise<PostResult> {
    const body = `{"events":[${items.map((i) => i.json).join(',')}]}`;
    const controller = new AbortController();
    this.controllers.add(controller);
    let timedOut = false;
    const timer = unref(
      this.timers.setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, this.timeoutMs),
    );
    try {
      const res = await this.fetchImpl(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.writeKey}` },
        body,
        keepalive,
        signal: controller.signal,
      });
      const text = await res.text();
      return { kind: 'response', status: res.status, retryAfter: res.headers.get('retry-after'), text };
    } catch (err) {
      return { kind: 'network', reason: timedOut ? `timeout after ${this.timeoutMs} ms` : `network error: ${(err as Error)?.message ?? String(err)}` };
    } finally {
      this.timers.clearTimeout(timer);
      this.controllers.delete(controller);
    }
  }

  private handle(items: Item[], bytes: number, r: PostResult): void {
    if (r.kind === 'network') return this.retryLater(items, r.reason, undefined);
    const { status } = r;
    if (status >= 200 && status < 300) {
      this.failures = 0;
      return this.applyResults(items, r.text);
    }
    const err = parseErrorBody(r.text);
    const what = `HTTP ${status}${err.code ? ` ${err.code}` : ''}${err.message ? `: ${err.message}` : ''}`;
    if (status === 413) {
      if (items.length === 1) {
        this.reject(items[0], `too large for the server (${what})`, err.fields);
        return;
      }
      // Halve: later batches never exceed what just failed, by count and by bytes.
      this.learnedMaxEvents = Math.max(1, Math.ceil(items.length / 2));
      this.learnedMaxBytes = Math.max(1024, Math.floor(bytes / 2));
      this.queue.unshift(...items);
      return;
    }
    if (isRetryableStatus(status)) return this.retryLater(items, what, parseRetryAfter(r.retryAfter, this.now()));
    this.emit('error', new CairnDeliveryError(`request refused, not retried: ${what}`, status, err.code));
    for (const it of items) {
      if (status === 400 || status === 422) this.reject(it, what, err.fields);
      else this.drop(it, 'not-retryable', what);
    }
  }

  private applyResults(items: Item[], text: string): void {
    let results: unknown[] = [];
    let position: LogPosition | null = null;
    try {
      const parsed = JSON.parse(text) as { results?: unknown; position?: LogPosition | null };
      if (Array.isArray(parsed?.results)) results = parsed.results;
      if (parsed?.position && typeof parsed.position.commit === 'string') position = parsed.position;
    } catch {
      /* 2xx without a readable body: the server took the batch */
    }
    const byIndex = new Map<number, { status?: string; errors?: FieldError[] }>();
    for (const r of results as Array<{ index?: number; status?: string; errors?: FieldError[] }>) {
      if (r && typeof r.index === 'number') byIndex.set(r.index, r);
    }
    items.forEach((it, i) => {
      const res = byIndex.get(i);
      if (res?.status === 'rejected') {
        const errors = Array.isArray(res.errors) ? res.errors : [];
        this.reject(it, errors.map((e) => `${e.field}: ${e.message}`).join('; ') || 'rejected by the server', errors);
      } else if (res?.status === 'duplicate') {
        this.counters.delivered++;
        this.counters.duplicates++;
        this.emit('delivered', { event: it.event, status: 'duplicate', position });
      } else {
        this.counters.delivered++;
        this.emit('delivered', { event: it.event, status: 'accepted', position });
      }
    });
  }

  private retryLater(items: Item[], reason: string, retryAfterMs: number | undefined): void {
    this.counters.retries++;
    this.failures++;
    const keep: Item[] = [];
    for (const it of items) {
      it.attempts++;
      if (it.attempts > this.maxRetries) this.drop(it, 'max-retries', `gave up after ${this.maxRetries} retries; last: ${reason}`);
      else keep.push(it);
    }
    this.queue.unshift(...keep);
    if (this.queue.length === 0) return;
    const delayMs =
      retryAfterMs !== undefined
        ? Math.min(retryAfterMs, this.maxRetryAfterMs)
        : backoffDelay(this.failures, this.retryBaseMs, this.retryMaxMs, this.random);
    this.startBackoff(delayMs);
    this.emit('retry', { events: keep.length, failures: this.failures, delayMs, reason });
  }

  private startBackoff(delayMs: number): void {
    const until = this.now() + delayMs;
    if (this.backoffTimer !== undefined) {
      if (until <= this.backoffUntil) return;
      this.timers.clearTimeout(this.backoffTimer);
    }
    this.backoffUntil = until;
    this.clearFlushTimer();
    this.backoffTimer = unref(
      this.timers.setTimeout(() => {
        this.backoffTimer = undefined;
        this.pump();
      }, delayMs),
    );
  }

  private reject(it: Item, reason: string, errors: readonly FieldError[] = []): void {
    this.counters.rejected++;
    this.emit('rejected', { event: it.event, reason, errors });
  }

  private drop(it: Item, reason: DropReason, detail: string): void {
    this.counters.dropped++;
    this.emit('dropped', { event: it.event, reason, detail });
  }

  // ---------------------------------------------------------------- timers

  private ensureFlushTimer(): void {
    if (this.flushTimer !== undefined || this.terminated || this.closed) return;
    this.flushTimer = unref(
      this.timers.setTimeout(() => {
        this.flushTimer = undefined;
        this.pump();
      }, this.flushIntervalMs),
    );
  }

  private clearFlushTimer(): void {
    if (this.flushTimer !== undefined) this.timers.clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  private scheduleHeartbeat(): void {
    this.heartbeatTimer = unref(
      this.timers.setTimeout(() => {
        this.heartbeatTimer = undefined;
        if (this.terminated) return;
        this.persistNow();
        this.tryStorage(() => this.tabs!.heartbeat(this.now() + this.leaseMs));
        void this.reclaimDeadTabs();
        this.scheduleHeartbeat();
      }, this.heartbeatMs),
    );
  }

  private shutdownTimers(): void {
    this.clearFlushTimer();
    if (this.backoffTimer !== undefined) this.timers.clearTimeout(this.backoffTimer);
    if (this.heartbeatTimer !== undefined) this.timers.clearTimeout(this.heartbeatTimer);
    this.backoffTimer = this.heartbeatTimer = undefined;
  }

  // ---------------------------------------------------------------- persistence (browser)

  private schedulePersist(): void {
    if (!this.tabs || this.persistScheduled) return;
    this.persistScheduled = true;
    void Promise.resolve().then(() => {
      this.persistScheduled = false;
      this.persistNow();
    });
  }

  private persistNow(): void {
    const tabs = this.tabs;
    if (!tabs || this.terminated) return;
    this.tryStorage(() => {
      if (tabs.wasTakenOver()) {
        // Another tab took over what we had saved and will send it: forget what is not in flight.
        this.queue = this.queue.filter((it) => !this.lastSavedIds.has(it.event.id));
        tabs.heartbeat(this.now() + this.leaseMs);
        this.resolveIdle();
      }
      const items = [...this.inFlight, ...this.queue];
      tabs.save(items.map((it): PersistedItem => ({ e: it.event, a: it.attempts })));
      this.lastSavedIds = new Set(items.map((it) => it.event.id));
    });
  }

  /** Takes over the persisted queues of tabs whose lease expired (see TabStore for the protocol). */
  private async reclaimDeadTabs(): Promise<number> {
    const tabs = this.tabs;
    if (!tabs || this.reclaiming || this.closed) return 0;
    this.reclaiming = true;
    let taken = 0;
    try {
      for (const tab of tabs.deadTabs()) {
        taken += await tabs.takeOver(tab, (persisted) => {
          if (this.terminated) return false;
          const known = new Set([...this.inFlight, ...this.queue].map((it) => it.event.id));
          const fresh = persisted.filter((p) => p && p.e && typeof p.e.id === 'string' && !known.has(p.e.id));
          if (this.queue.length + this.inFlight.size + fresh.length > this.maxQueueSize) return false;
          for (const p of fresh) {
            const json = JSON.stringify(p.e);
            this.queue.push({ event: p.e, json, bytes: this.encoder.encode(json).length, attempts: Number(p.a) || 0 });
          }
          this.notePeak();
          this.persistNow();
          return true;
        });
      }
    } catch (err) {
      this.emit('error', err as Error);
    } finally {
      this.reclaiming = false;
    }
    if (taken > 0) this.pump();
    return taken;
  }

  private attachPageHooks(): void {
    const onPageHide = (): void => {
      this.persistNow();
      this.tryStorage(() => this.tabs?.heartbeat(this.now() + this.unloadGraceMs));
      this.unloadFlush();
    };
    const onVisibility = (): void => {
      if (this.doc?.visibilityState === 'hidden') {
        this.persistNow();
        this.unloadFlush();
      }
    };
    const onPageShow = (): void => {
      this.persistNow();
      this.tryStorage(() => this.tabs?.heartbeat(this.now() + this.leaseMs));
      void this.reclaimDeadTabs();
    };
    this.win?.addEventListener('pagehide', onPageHide);
    this.win?.addEventListener('pageshow', onPageShow);
    this.doc?.addEventListener('visibilitychange', onVisibility);
    this.detachHooks.push(() => {
      this.win?.removeEventListener('pagehide', onPageHide);
      this.win?.removeEventListener('pageshow', onPageShow);
      this.doc?.removeEventListener('visibilitychange', onVisibility);
    });
  }

  /** The page may be going away: send what is queued now, within the keepalive budget, ignoring backoff. */
  private unloadFlush(): void {
    if (this.terminated) return;
    this.clearFlushTimer();
    while (this.queue.length > 0) {
      const budget = this.keepalive ? KEEPALIVE_MAX_BYTES - 1024 - this.inFlightBytes : this.maxBatchBytes;
      const batch = this.takeBatch(Math.min(this.maxBatchBytes, budget), true);
      if (batch.length === 0) break;
      void this.send(batch, this.keepalive);
    }
  }

  // ---------------------------------------------------------------- storage helpers

  private tryStorage(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.emit('error', err as Error); // e.g. QuotaExceededError: events stay in memory
    }
  }
  private safeGet(key: string): string | null {
    try {
      return this.storage?.getItem(key) ?? null;
    } catch {
      return null;
    }
  }
  private safeSet(key: string, value: string): void {
    this.tryStorage(() => this.storage?.setItem(key, value));
  }
  private safeRemove(key: string): void {
    this.tryStorage(() => this.storage?.removeItem(key));
  }
  private readOrCreate(key: string): string {
    const existing = this.safeGet(key);
    if (existing) return existing;
    const id = uuidv7(this.now());
    this.safeSet(key, id);
    return id;
  }
}

function parseErrorBody(text: string): { code?: string; message?: string; fields: FieldError[] } {
  try {
    const e = (JSON.parse(text) as { error?: { code?: string; message?: string; fields?: FieldError[] } }).error;
    return { code: e?.code, message: e?.message, fields: Array.isArray(e?.fields) ? e.fields : [] };
  } catch {
    return { message: text.slice(0, 200) || undefined, fields: [] };
  }
}
