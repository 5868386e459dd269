/**
 * The SDK's public types, derived from Cairn's event catalogue (libs/domain/src/events.ts): one
 * source of truth. Only types are imported, so nothing from the server side ends up in the bundle;
 * the declaration build ships events.d.ts inside the package so consumers resolve these types.
 */
import type {
  Channel,
  ConsentInput,
  EventContext,
  EventInput,
  EventKind,
  IdentifyInput,
  PurchaseInput,
  ReferralInput,
  ReturnInput,
  ReviewInput,
  ViewInput,
} from '../../domain/src/events';

export type {
  Channel,
  CommonFields,
  ConsentInput,
  ConsentStatus,
  EventContext,
  EventInput,
  EventKind,
  IdentifyInput,
  PurchaseInput,
  PurchaseItem,
  ReferralInput,
  ReturnInput,
  ReturnItem,
  ReviewInput,
  Traits,
  ViewInput,
} from '../../domain/src/events';

type Optional<T, K extends PropertyKey> = Omit<T, K> & Partial<Pick<T, K & keyof T>>;

/** What a typed call takes: the catalogue input minus `type`; id, occurredAt and channel are optional. */
export type CallInput<I extends EventInput> = Optional<Omit<I, 'type'>, 'id' | 'occurredAt' | 'channel'>;

export type ViewCall = CallInput<ViewInput>;
export type PurchaseCall = CallInput<PurchaseInput>;
export type ReturnCall = CallInput<ReturnInput>;
export type ReviewCall = CallInput<ReviewInput>;
export type ReferralCall = CallInput<ReferralInput>;
/** Consent granted or withdrawn for one purpose. */
export type ConsentCall = CallInput<ConsentInput>;
/** In browsers the persisted anonymous id fills `anonymousId`; elsewhere pass it. */
export type IdentifyCall = Optional<CallInput<IdentifyInput>, 'anonymousId'>;

/** An event as it goes on the wire: the catalogue input with its client-generated id. */
export type WireEvent = EventInput & { readonly id: string };

/** The subset of the Web Storage API the SDK uses (localStorage satisfies it). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
  key(index: number): string | null;
  readonly length: number;
}

export type TimerHandle = unknown;
export interface Timers {
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** What the SDK passes to fetch and reads back: structural, so the types need neither DOM nor Node libs. */
export interface RequestInitLike {
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly keepalive: boolean;
  readonly signal: AbortSignal;
}
export interface ResponseLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}
export type FetchLike = (url: string, init: RequestInitLike) => Promise<ResponseLike>;

export interface EventTargetLike {
  addEventListener(type: string, listener: (event: unknown) => void): void;
  removeEventListener(type: string, listener: (event: unknown) => void): void;
}
export interface WindowLike extends EventTargetLike {
  readonly location?: { readonly href?: string };
  readonly navigator?: { readonly userAgent?: string; readonly language?: string };
}
export interface DocumentLike extends EventTargetLike {
  readonly visibilityState?: string;
  readonly referrer?: string;
}

export interface CairnOptions {
  /** Write key with the ingest scope; sent as `Authorization: Bearer <writeKey>`. */
  readonly writeKey: string;
  /** Base URL of the Cairn API, e.g. https://cairn.example.com */
  readonly host: string;
  /** Send as soon as this many events are queued. Default 20. */
  readonly flushAt?: number;
  /** Send queued events at least this often. Default 5000 ms. */
  readonly flushIntervalMs?: number;
  /** Queued + in-flight events; beyond it new events are refused and reported `dropped`. Default 10000. */
  readonly maxQueueSize?: number;
  /** Retries per event before it is reported `dropped`. Default 10. */
  readonly maxRetries?: number;
  /** Per request (connect + response body). Default 10000 ms. */
  readonly timeoutMs?: number;
  /** Events per request, at most 500 (the server's limit). Default 100. */
  readonly maxBatchEvents?: number;
  /** Bytes per request body. Default 512 000 in Node, 60 000 in browsers (keepalive bodies ≤ 64 KB). */
  readonly maxBatchBytes?: number;
  /** Backoff: base and cap of the exponential, full-jitter delay. Defaults 500 ms and 30 000 ms. */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /** Upper bound applied to a server's Retry-After. Default 300 000 ms. */
  readonly maxRetryAfterMs?: number;
  /** Default channel. 'web' in browsers; elsewhere required here or per call. */
  readonly channel?: Channel;
  /** Context merged into every event (per-call context wins). */
  readonly context?: EventContext;
  /** Browser mode: auto-detected (window + document). Enables anonymous id, persistence, page hooks. */
  readonly browser?: boolean;
  /** Persistent storage for the queue and anonymous id; defaults to localStorage in browsers, none in Node. */
  readonly storage?: StorageLike | null;
  /** Add page URL, referrer, user agent, locale, timezone and UTM params to context. Default true in browsers. */
  readonly autoContext?: boolean;
  /** Use fetch keepalive (survives page unload). Default true in browsers. */
  readonly keepalive?: boolean;
  /** Cross-tab lease protocol timings (browser persistence). Defaults 5000 / 90000 / 3000 / 100 ms. */
  readonly heartbeatMs?: number;
  readonly leaseMs?: number;
  readonly unloadGraceMs?: number;
  readonly claimSettleMs?: number;
  /** Storage key prefix. Default 'cairn'. */
  readonly storagePrefix?: string;
  /** Injection points for tests. */
  readonly fetch?: FetchLike;
  readonly timers?: Timers;
  readonly now?: () => number;
  readonly random?: () => number;
  /** Browser hooks target (pagehide / visibilitychange / pageshow); defaults to window/document. */
  readonly window?: WindowLike;
  readonly document?: DocumentLike;
}

export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export type DeliveryStatus = 'accepted' | 'duplicate';

/** A log position from the ingest response: pass `commit` as `?minPosition=` to read your writes. */
export interface LogPosition {
  readonly commit: string;
  readonly prepare: string;
}
export interface DeliveredReport {
  readonly event: WireEvent;
  readonly status: DeliveryStatus;
  /** The position of the batch that carried it (null or absent when the server gave none). */
  readonly position?: LogPosition | null;
}
export interface RejectedReport {
  readonly event: WireEvent;
  readonly reason: string;
  readonly errors: readonly FieldError[];
}
export type DropReason = 'queue-full' | 'max-retries' | 'not-retryable' | 'closed' | 'shutdown-timeout';
export interface DroppedReport {
  readonly event: WireEvent;
  readonly reason: DropReason;
  readonly detail: string;
}
export interface RetryReport {
  readonly events: number;
  readonly failures: number;
  readonly delayMs: number;
  readonly reason: string;
}

export interface CairnEvents {
  delivered: DeliveredReport;
  rejected: RejectedReport;
  dropped: DroppedReport;
  retry: RetryReport;
  error: Error;
}

export interface CairnStats {
  /** Waiting to be sent (includes events waiting for a retry). */
  readonly queued: number;
  readonly inFlight: number;
  /** Accepted or duplicate: both mean the event is stored exactly once. */
  readonly delivered: number;
  /** Of `delivered`, how many the server already had. */
  readonly duplicates: number;
  readonly rejected: number;
  readonly dropped: number;
  /** Requests retried. */
  readonly retries: number;
  /** High-water mark of queued + in-flight. */
  readonly peakQueued: number;
}

