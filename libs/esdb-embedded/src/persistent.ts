/**
 * `event_store.client.persistent_subscriptions.PersistentSubscriptions`: competing-consumer groups over a
 * stream or `$all`, kept by the node (EventStoreDB's semantics, see docs/embedded-node.md).
 *
 * Everything durable lives in the log itself, as in EventStoreDB:
 *  - the groups' settings: the last `$PersistentConfig` event of `$persistentSubscriptionConfig`;
 *  - each group's checkpoint: the last `$SubscriptionCheckpoint` of `$persistentsubscription-<src>::<group>-checkpoint`;
 *  - parked messages: `$>` link events (`<revision>@<stream>`) in `$persistentsubscription-<src>::<group>-parked`.
 *
 * A group reads its source in pages from the store, keeps the messages read but not yet settled in order
 * (the checkpoint is the last position before the first unsettled one), hands messages to consumers by its
 * strategy within each consumer's free slots, and re-queues a message on nack-retry, on its timeout and when
 * its consumer goes away — parking it once it was retried `maxRetryCount` times.
 */
import type * as grpc from '@grpc/grpc-js';
import { errors, grpcError, type GrpcError } from './errors';
import { compileFilter, filterSpecOf, type Filter, type FilterSpec } from './filters';
import { decodeSettlement, encodeConfirmation, eventIdOf, encodePersistentEvent, persistentGrpc, type Settlement, persistentPb, sharedPb, streamName, streamsPb, uuidToString } from './proto';
import { isPrincipal, type Principal, type Security } from './security';
import type { LogRow, ProposedEvent, Store } from './store';
import { status } from '@grpc/grpc-js';

const CONFIG_STREAM = '$persistentSubscriptionConfig';
const CONFIG_EVENT = '$PersistentConfig';
const CHECKPOINT_EVENT = '$SubscriptionCheckpoint';
const ALL = '$all';
const PAGE = 512;
const TICK_MS = 100;
/** The largest revision (u64 max) the client sends as the deprecated `revision` meaning "end". */
const U64_MAX = '18446744073709551615';

export type Strategy = 'RoundRobin' | 'DispatchToSingle' | 'Pinned';
const STRATEGIES: Strategy[] = ['DispatchToSingle', 'RoundRobin', 'Pinned']; // index = the proto enum value

export interface GroupSettings {
  resolveLinkTos: boolean;
  extraStatistics: boolean;
  messageTimeoutMs: number;
  maxRetryCount: number;
  checkPointAfterMs: number;
  minCheckpointCount: number;
  maxCheckpointCount: number;
  maxSubscriberCount: number;
  liveBufferSize: number;
  readBatchSize: number;
  historyBufferSize: number;
  strategy: Strategy;
}

type StartFrom = { kind: 'start' } | { kind: 'end' } | { kind: 'at'; value: number };

/** One group as it is persisted in `$persistentSubscriptionConfig`. */
interface GroupConfig {
  source: string;
  group: string;
  settings: GroupSettings;
  startFrom: StartFrom;
  filter?: FilterSpec;
}

export interface PersistentOptions {
  store: Store;
  security: Security;
}

interface Entry {
  key: number;
  done: boolean;
}

interface Msg {
  row: LogRow;
  /** The event id: what acks and nacks name. */
  id: string;
  /** Present for messages read from the source (they hold the checkpoint back); absent for replayed parked ones. */
  entry?: Entry;
  retryCount: number;
  consumer?: Consumer;
  deadline: number;
  /** When it was last handed out (ms), for the consumer's latency statistics. */
  sentAt: number;
}

interface Consumer {
  call: grpc.ServerDuplexStream<persistentPb.ReadReq, Buffer>;
  slots: number;
  inflight: Set<Msg>;
  from: string;
  username: string;
  connectionName: string;
  total: number;
  lastTotal: number;
  /** The last LATENCY_SAMPLES delivery→ack times in ms (extraStatistics), a ring. */
  latencies: number[];
  latencyNext: number;
}

const LATENCY_SAMPLES = 1000;
/** EventStoreDB's extra statistics of a connection: latency quantiles (here of delivery → ack, in ms). */
const LATENCY_MEASUREMENTS: Array<[string, number]> = [
  ['Fastest', 0],
  ['Quintile 1', 0.2],
  ['Quintile 2', 0.4],
  ['Quintile 3', 0.6],
  ['Quintile 4', 0.8],
  ['Quintile 5', 1],
  ['90%', 0.9],
  ['95%', 0.95],
  ['99%', 0.99],
  ['99.5%', 0.995],
  ['99.9%', 0.999],
  ['Highest', 1],
];

export function parkedStreamOf(source: string, group: string): string {
  return `$persistentsubscription-${source}::${group}-parked`;
}

export function checkpointStreamOf(source: string, group: string): string {
  return `$persistentsubscription-${source}::${group}-checkpoint`;
}

const psErrors = {
  exists: (stream: string, group: string) =>
    grpcError(status.ALREADY_EXISTS, `Subscription group ${group} on stream ${stream} exists.`, {
      exception: 'persistent-subscription-exists',
      'stream-name': stream,
      'group-name': group,
    }),
  notFound: (stream: string, group: string) =>
    grpcError(status.NOT_FOUND, `Subscription group ${group} on stream ${stream} does not exist.`, {
      exception: 'persistent-subscription-does-not-exist',
      'stream-name': stream,
      'group-name': group,
    }),
  maxSubscribers: (stream: string, group: string) =>
    grpcError(status.FAILED_PRECONDITION, `Maximum subscriptions reached for subscription group '${group}' on stream '${stream}.'`, {
      exception: 'maximum-subscribers-reached',
      'stream-name': stream,
      'group-name': group,
    }),
  dropped: (stream: string, group: string) =>
    grpcError(status.CANCELLED, `Subscription group '${group}' on stream '${stream}' was dropped.`, {
      exception: 'persistent-subscription-dropped',
      'stream-name': stream,
      'group-name': group,
    }),
  failed: (stream: string, group: string, reason: string) =>
    grpcError(status.INVALID_ARGUMENT, `Subscription group '${group}' on stream '${stream}' failed: ${reason}`, {
      exception: 'persistent-subscription-failed',
      'stream-name': stream,
      'group-name': group,
      reason,
    }),
};

/** FNV-1a of a stream name: Pinned's bucket. */
function hashOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function proposed(type: string, data: string, metadata = ''): ProposedEvent {
  return { id: globalThis.crypto.randomUUID(), type, contentType: 'application/json', data: Buffer.from(data, 'utf8'), metadata: Buffer.from(metadata, 'utf8') };
}

/** The data of a stored event (decoded from its frame: only for the rare reads of config, checkpoints, links). */
function dataOf(row: LogRow): string {
  const ev = streamsPb.ReadResp.deserializeBinary(row.frame).getEvent()?.getEvent();
  return ev ? Buffer.from(ev.getData_asU8()).toString('utf8') : '';
}

/** The last visible event of a stream, or undefined (never written, deleted or truncated away). */
function lastEventOf(store: Store, name: string): LogRow | undefined {
  const st = store.stream(name);
  if (!st || st.tombstoned || st.meta.softDeleted || st.lastRev < 0 || st.lastRev < (st.meta.tb ?? 0)) return undefined;
  return store.readStreamBackward(st.id, st.lastRev, st.lastRev, 1)[0];
}

function parseStartFrom(v: unknown): StartFrom {
  const o = v as { kind?: string; value?: number };
  if (o?.kind === 'end') return { kind: 'end' };
  if (o?.kind === 'at' && typeof o.value === 'number') return { kind: 'at', value: o.value };
  return { kind: 'start' };
}

class Group {
  readonly consumers: Consumer[] = [];
  private filter: Filter | undefined;
  private queue: Msg[] = [];
  private qHead = 0;
  private retryQueue: Msg[] = [];
  private readonly inflight = new Map<string, Msg>();
  private seq: Entry[] = [];
  private seqHead = 0;
  /** Next key (stream revision or `$all` position) to read from the source. */
  private readKey = 0;
  /** Last key read (scanned) from the source. */
  private lastReadKey = -1;
  /** Last checkpointed key, -1 when none. */
  lastCheckpoint = -1;
  private processedSinceCheckpoint = 0;
  private lastCheckpointAt = Date.now();
  private writingCheckpoint = false;
  private rr = 0;
  private pumping = false;
  private again = false;
  private caughtUp = false;
  stopped = false;
  totalItems = 0;
  private lastTotalItems = 0;
  private lastStatsAt = Date.now();

  constructor(
    readonly config: GroupConfig,
    private readonly store: Store,
  ) {
    this.filter = config.filter ? compileFilter(config.filter) : undefined;
    this.load();
  }

  get isAll(): boolean {
    return this.config.source === ALL;
  }

  get settings(): GroupSettings {
    return this.config.settings;
  }

  private load(): void {
    const cp = lastEventOf(this.store, checkpointStreamOf(this.config.source, this.config.group));
    let checkpoint: number | undefined;
    if (cp) {
      try {
        const v: unknown = JSON.parse(dataOf(cp));
        if (typeof v === 'number') checkpoint = v;
        else if (typeof v === 'string') {
          const m = /^C:(\d+)\/P:(\d+)$/.exec(v);
          if (m) checkpoint = Number(m[1]);
        }
      } catch {
        checkpoint = undefined;
      }
    }
    if (checkpoint !== undefined) {
      this.lastCheckpoint = checkpoint;
      this.readKey = checkpoint + 1;
    } else {
      const sf = this.config.startFrom;
      if (sf.kind === 'at') this.readKey = sf.value;
      else if (sf.kind === 'start') this.readKey = this.isAll ? 1 : 0;
      else this.readKey = this.isAll ? this.store.head + 1 : (this.store.stream(this.config.source)?.lastRev ?? -1) + 1;
    }
    this.lastReadKey = this.readKey - 1;
  }

  // ---------------------------------------------------------------- consumers

  addConsumer(c: Consumer): GrpcError | undefined {
    const max = this.settings.maxSubscriberCount;
    if (max > 0 && this.consumers.length >= max) return psErrors.maxSubscribers(this.config.source, this.config.group);
    this.consumers.push(c);
    return undefined;
  }

  removeConsumer(c: Consumer): void {
    c.slots = 0; // nothing more is handed to it, even before it is gone from the list
    const i = this.consumers.indexOf(c);
    if (i < 0) return;
    this.consumers.splice(i, 1);
    // Its unsettled messages go to the others (a retry: parked once retried maxRetryCount times).
    for (const m of [...c.inflight]) this.retry(m);
    this.pump();
  }

  /** Ends every consumer's call with `persistent-subscription-dropped` (group deleted, updated or restarted). */
  dropAll(): void {
    this.stopped = true;
    for (const c of this.consumers.splice(0)) c.call.emit('error', psErrors.dropped(this.config.source, this.config.group));
  }

  // ---------------------------------------------------------------- acknowledgements

  ack(ids: string[]): void {
    const stats = this.settings.extraStatistics;
    const now = stats ? Date.now() : 0;
    for (const id of ids) {
      const m = this.inflight.get(id);
      if (!m) continue;
      if (stats && m.consumer) {
        const c = m.consumer;
        c.latencies[c.latencyNext] = now - m.sentAt;
        c.latencyNext = (c.latencyNext + 1) % LATENCY_SAMPLES;
      }
      this.settle(m);
    }
    this.pump();
  }

  nack(action: persistentPb.ReadReq.Nack.Action, ids: string[], reason: string): void {
    const A = persistentPb.ReadReq.Nack.Action;
    for (const id of ids) {
      const m = this.inflight.get(id);
      if (!m) continue;
      if (action === A.PARK) this.park(m, reason || 'Parked by client');
      else if (action === A.SKIP) this.settle(m);
      else if (action === A.STOP) continue; // EventStoreDB does nothing for Stop: the message waits for its timeout
      else this.retry(m); // RETRY and UNKNOWN
    }
    this.pump();
  }

  private release(m: Msg): void {
    if (this.inflight.get(m.id) === m) this.inflight.delete(m.id);
    m.consumer?.inflight.delete(m);
    m.consumer = undefined;
  }

  /** Done with a message (acked, skipped or parked): it no longer holds the checkpoint back. */
  private settle(m: Msg): void {
    this.release(m);
    if (m.entry && !m.entry.done) {
      m.entry.done = true;
      this.advance();
    }
  }

  private retry(m: Msg): void {
    this.release(m);
    if (m.retryCount >= this.settings.maxRetryCount) {
      this.park(m, `Reached retry count of ${this.settings.maxRetryCount}`);
      return;
    }
    m.retryCount += 1;
    this.retryQueue.push(m);
  }

  private park(m: Msg, reason: string): void {
    this.release(m);
    const link = `${m.row.rev}@${this.store.streamNameOf(m.row.stream)}`;
    const event = proposed('$>', link, JSON.stringify({ reason }));
    event.contentType = 'application/octet-stream';
    this.store.write({ kind: 'append', stream: parkedStreamOf(this.config.source, this.config.group), expected: { kind: 'any' }, events: [event] }).then(
      () => {
        this.settle(m);
        this.pump();
      },
      () => {
        // Not parked (storage failure): keep it for another delivery rather than lose it.
        if (!this.stopped) this.retryQueue.push(m);
      },
    );
  }

  // ---------------------------------------------------------------- checkpoints

  private advance(): void {
    const seq = this.seq;
    let h = this.seqHead;
    while (h < seq.length && seq[h].done) {
      h++;
      this.processedSinceCheckpoint++;
    }
    if (h > 4096 && h * 2 > seq.length) {
      this.seq = seq.slice(h);
      h = 0;
    }
    this.seqHead = h;
    this.tryCheckpoint(false);
  }

  /** The last key every message before which is settled. */
  private checkpointCandidate(): number {
    return this.seqHead < this.seq.length ? this.seq[this.seqHead].key - 1 : this.lastReadKey;
  }

  /** EventStoreDB's rule: at least minCheckpointCount settled on the checkPointAfter tick, or maxCheckpointCount at once. */
  tryCheckpoint(isTimeCheck: boolean): void {
    if (this.writingCheckpoint || this.stopped) return;
    const candidate = this.checkpointCandidate();
    if (candidate <= this.lastCheckpoint) return;
    const n = this.processedSinceCheckpoint;
    const s = this.settings;
    if (!((isTimeCheck && n >= s.minCheckpointCount) || n >= s.maxCheckpointCount)) return;
    this.writingCheckpoint = true;
    this.processedSinceCheckpoint = 0;
    this.lastCheckpointAt = Date.now();
    const stream = checkpointStreamOf(this.config.source, this.config.group);
    const data = this.isAll ? JSON.stringify(`C:${candidate}/P:${candidate}`) : String(candidate);
    // EventStoreDB keeps one checkpoint per group: the stream is capped with $maxCount 1 when first written. (A
    // checkpoint stream soft-deleted with an earlier group of that name keeps its $maxCount; its first new event
    // moves $tb past the old ones.)
    const first = this.store.stream(stream) === undefined;
    const writes: Array<Promise<unknown>> = [];
    if (first) writes.push(this.store.write({ kind: 'append', stream: `$$${stream}`, expected: { kind: 'any' }, events: [proposed('$metadata', '{"$maxCount":1}')] }));
    writes.push(this.store.write({ kind: 'append', stream, expected: { kind: 'any' }, events: [proposed(CHECKPOINT_EVENT, data)] }));
    Promise.all(writes).then(
      () => {
        this.writingCheckpoint = false;
        if (candidate > this.lastCheckpoint) this.lastCheckpoint = candidate;
        this.tryCheckpoint(false); // what was settled while this one was being written
      },
      () => {
        this.writingCheckpoint = false;
        this.processedSinceCheckpoint += n;
      },
    );
  }

  tick(now: number): void {
    if (this.stopped) return;
    if (this.settings.messageTimeoutMs > 0) {
      let expired: Msg[] | undefined;
      for (const m of this.inflight.values()) if (m.deadline <= now) (expired ??= []).push(m);
      if (expired) {
        for (const m of expired) this.retry(m);
        this.pump();
      }
    }
    if (now - this.lastCheckpointAt >= this.settings.checkPointAfterMs) {
      this.lastCheckpointAt = now;
      this.tryCheckpoint(true);
    }
  }

  // ---------------------------------------------------------------- reading and dispatching

  /** Reads from the source and hands messages to consumers until one of them runs out. Synchronous. */
  pump(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        if (this.consumers.length === 0) break;
        this.fill();
        this.dispatch();
      } while (this.again || (this.queue.length - this.qHead < PAGE / 2 && !this.caughtUp && this.hasFreeSlot()));
    } finally {
      this.pumping = false;
    }
  }

  private hasFreeSlot(): boolean {
    for (const c of this.consumers) if (c.inflight.size < c.slots) return true;
    return false;
  }

  private fill(): void {
    const buffered = this.queue.length - this.qHead;
    const cap = Math.max(this.settings.historyBufferSize, PAGE);
    if (buffered >= cap / 2) return;
    if (this.qHead > 0) {
      this.queue = this.queue.slice(this.qHead);
      this.qHead = 0;
    }
    const rows = this.isAll ? this.readAll(cap - buffered) : this.readStream(cap - buffered);
    for (const row of rows) {
      const key = this.isAll ? row.pos : row.rev;
      const entry: Entry = { key, done: false };
      this.seq.push(entry);
      this.queue.push({ row, id: eventIdOf(row.frame), entry, retryCount: 0, deadline: 0, sentAt: 0 });
    }
  }

  private readAll(limit: number): LogRow[] {
    const head = this.store.head;
    const out: LogRow[] = [];
    while (out.length < limit && this.readKey <= head) {
      const rows = this.store.readAllForward(this.readKey, Math.min(PAGE, head - this.readKey + 1));
      if (rows.length === 0) break;
      for (const r of rows) {
        if (!this.filter || this.filter.matches(this.store.streamNameOf(r.stream), r.type)) out.push(r);
      }
      this.readKey = rows[rows.length - 1].pos + 1;
      this.lastReadKey = this.readKey - 1;
    }
    this.caughtUp = this.readKey > head;
    return out;
  }

  private readStream(limit: number): LogRow[] {
    const st = this.store.stream(this.config.source);
    if (!st || st.tombstoned || st.lastRev < this.readKey) {
      this.caughtUp = true;
      return [];
    }
    const m = st.meta;
    const floor = m.softDeleted ? st.lastRev + 1 : Math.max(m.tb ?? 0, m.maxCount !== undefined ? st.lastRev - m.maxCount + 1 : 0);
    const from = Math.max(this.readKey, floor);
    const rows = from <= st.lastRev ? this.store.readStreamForward(st.id, from, st.lastRev, Math.min(limit, PAGE)) : [];
    this.readKey = rows.length > 0 ? rows[rows.length - 1].rev + 1 : st.lastRev + 1;
    this.lastReadKey = this.readKey - 1;
    this.caughtUp = this.readKey > st.lastRev;
    return rows;
  }

  private next(): Msg | undefined {
    return this.retryQueue.length > 0 ? this.retryQueue[0] : this.queue[this.qHead];
  }

  private dispatch(): void {
    const now = Date.now();
    for (;;) {
      const m = this.next();
      if (!m) return;
      if (this.inflight.has(m.id)) return; // the same event id is still out (ids key acks): wait for it
      const c = this.pick(m);
      if (!c) return;
      if (this.retryQueue.length > 0 && this.retryQueue[0] === m) this.retryQueue.shift();
      else this.qHead++;
      m.consumer = c;
      m.deadline = now + this.settings.messageTimeoutMs;
      m.sentAt = now;
      this.inflight.set(m.id, m);
      c.inflight.add(m);
      c.total++;
      this.totalItems++;
      try {
        c.call.write(encodePersistentEvent(m.row.frame, m.retryCount));
      } catch {
        // The call ended under us: its close handler removes the consumer, which retries what it held.
      }
    }
  }

  private pick(m: Msg): Consumer | undefined {
    const cs = this.consumers;
    const n = cs.length;
    if (n === 0) return undefined;
    switch (this.settings.strategy) {
      case 'DispatchToSingle':
        for (const c of cs) if (c.inflight.size < c.slots) return c;
        return undefined;
      case 'Pinned': {
        // A stream's messages all go to one consumer while the group's membership stays the same.
        const c = cs[hashOf(this.store.streamNameOf(m.row.stream)) % n];
        return c.inflight.size < c.slots ? c : undefined;
      }
      default:
        for (let i = 0; i < n; i++) {
          const c = cs[(this.rr + i) % n];
          if (c.inflight.size < c.slots) {
            this.rr = (this.rr + i + 1) % n;
            return c;
          }
        }
        return undefined;
    }
  }

  /** Replays up to `stopAt` parked messages (all when undefined) and truncates the parked stream past them. */
  async replayParked(stopAt: number | undefined): Promise<void> {
    const parked = parkedStreamOf(this.config.source, this.config.group);
    const st = this.store.stream(parked);
    if (!st || st.lastRev < 0 || st.meta.softDeleted) return;
    let from = st.meta.tb ?? 0;
    const to = stopAt === undefined ? st.lastRev : Math.min(st.lastRev, from + stopAt - 1);
    let last = -1;
    while (from <= to) {
      const rows = this.store.readStreamForward(st.id, from, to, PAGE);
      if (rows.length === 0) break;
      for (const r of rows) {
        last = r.rev;
        const target = this.resolveLink(dataOf(r));
        if (target) this.retryQueue.push({ row: target, id: eventIdOf(target.frame), retryCount: 0, deadline: 0, sentAt: 0 });
      }
      from = rows[rows.length - 1].rev + 1;
    }
    if (last < 0) return;
    await this.store.write({ kind: 'append', stream: `$$${parked}`, expected: { kind: 'any' }, events: [proposed('$metadata', JSON.stringify({ $tb: last + 1 }))] });
    this.pump();
  }

  private resolveLink(link: string): LogRow | undefined {
    const at = link.indexOf('@');
    if (at < 0) return undefined;
    const rev = Number(link.slice(0, at));
    const st = this.store.stream(link.slice(at + 1));
    if (!st || !Number.isInteger(rev)) return undefined;
    return this.store.readStreamForward(st.id, rev, rev, 1)[0];
  }

  parkedCount(): number {
    const st = this.store.stream(parkedStreamOf(this.config.source, this.config.group));
    if (!st || st.lastRev < 0 || st.meta.softDeleted) return 0;
    return Math.max(0, st.lastRev + 1 - (st.meta.tb ?? 0));
  }

  info(): persistentPb.SubscriptionInfo {
    const { source, group, settings: s, startFrom } = this.config;
    const now = Date.now();
    const secs = Math.max(0.001, (now - this.lastStatsAt) / 1000);
    const since = this.totalItems - this.lastTotalItems;
    this.lastStatsAt = now;
    this.lastTotalItems = this.totalItems;
    const pos = (k: number) => (this.isAll ? `C:${k}/P:${k}` : String(k));
    const info = new persistentPb.SubscriptionInfo();
    info.setEventSource(source);
    info.setGroupName(group);
    info.setStatus(this.caughtUp ? 'Live' : 'Behind');
    info.setAveragePerSecond(Math.round(since / secs));
    info.setTotalItems(String(this.totalItems));
    info.setCountSinceLastMeasurement(String(since));
    info.setLastCheckpointedEventPosition(this.lastCheckpoint >= 0 ? pos(this.lastCheckpoint) : '');
    const lastKnown = this.isAll ? this.store.head : (this.store.stream(source)?.lastRev ?? -1);
    info.setLastKnownEventPosition(lastKnown >= 0 && !(this.isAll && lastKnown === 0) ? pos(lastKnown) : '');
    info.setResolveLinkTos(s.resolveLinkTos);
    info.setStartFrom(
      startFrom.kind === 'start' ? (this.isAll ? 'C:0/P:0' : '0') : startFrom.kind === 'end' ? (this.isAll ? 'C:-1/P:-1' : '-1') : pos(startFrom.value),
    );
    info.setMessageTimeoutMilliseconds(s.messageTimeoutMs);
    info.setExtraStatistics(s.extraStatistics);
    info.setMaxRetryCount(s.maxRetryCount);
    info.setLiveBufferSize(s.liveBufferSize);
    info.setBufferSize(s.historyBufferSize);
    info.setReadBatchSize(s.readBatchSize);
    info.setCheckPointAfterMilliseconds(s.checkPointAfterMs);
    info.setMinCheckPointCount(s.minCheckpointCount);
    info.setMaxCheckPointCount(s.maxCheckpointCount);
    info.setReadBufferCount(this.queue.length - this.qHead);
    info.setLiveBufferCount('0');
    info.setRetryBufferCount(this.retryQueue.length);
    info.setTotalInFlightMessages(this.inflight.size);
    info.setOutstandingMessagesCount(this.inflight.size);
    info.setNamedConsumerStrategy(s.strategy);
    info.setMaxSubscriberCount(s.maxSubscriberCount);
    info.setParkedMessageCount(String(this.parkedCount()));
    for (const c of this.consumers) {
      const ci = new persistentPb.SubscriptionInfo.ConnectionInfo();
      const cSince = c.total - c.lastTotal;
      c.lastTotal = c.total;
      ci.setFrom(c.from);
      ci.setUsername(c.username);
      ci.setAverageItemsPerSecond(Math.round(cSince / secs));
      ci.setTotalItems(String(c.total));
      ci.setCountSinceLastMeasurement(String(cSince));
      ci.setAvailableSlots(Math.max(0, c.slots - c.inflight.size));
      ci.setInFlightMessages(c.inflight.size);
      ci.setConnectionName(c.connectionName);
      if (s.extraStatistics) {
        const sorted = [...c.latencies].sort((a, b) => a - b);
        const mean = sorted.length === 0 ? 0 : sorted.reduce((a, b) => a + b, 0) / sorted.length;
        const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
        const measures: Array<[string, number]> = [['Mean', mean], ['Median', at(0.5)], ...LATENCY_MEASUREMENTS.map(([k, q]): [string, number] => [k, at(q)])];
        for (const [key, value] of measures) ci.addObservedMeasurements(new persistentPb.SubscriptionInfo.Measurement().setKey(key).setValue(String(Math.round(value))));
      }
      info.addConnections(ci);
    }
    return info;
  }
}

type SettingsPb = persistentPb.CreateReq.Settings | persistentPb.UpdateReq.Settings;

function settingsOf(pb: SettingsPb | undefined): GroupSettings | string {
  if (!pb) return 'settings are required';
  const timeout =
    pb.getMessageTimeoutCase() === persistentPb.CreateReq.Settings.MessageTimeoutCase.MESSAGE_TIMEOUT_TICKS
      ? Number(BigInt(pb.getMessageTimeoutTicks()) / 10_000n)
      : pb.getMessageTimeoutMs();
  const checkpointAfter =
    pb.getCheckpointAfterCase() === persistentPb.CreateReq.Settings.CheckpointAfterCase.CHECKPOINT_AFTER_TICKS
      ? Number(BigInt(pb.getCheckpointAfterTicks()) / 10_000n)
      : pb.getCheckpointAfterMs();
  const named = 'getConsumerStrategy' in pb ? pb.getConsumerStrategy() : '';
  const strategy = (named || STRATEGIES[pb.getNamedConsumerStrategy()]) as Strategy | undefined;
  if (!strategy || !STRATEGIES.includes(strategy)) return `unknown consumer strategy '${named || pb.getNamedConsumerStrategy()}'`;
  const s: GroupSettings = {
    resolveLinkTos: pb.getResolveLinks(),
    extraStatistics: pb.getExtraStatistics(),
    messageTimeoutMs: timeout,
    maxRetryCount: pb.getMaxRetryCount(),
    checkPointAfterMs: checkpointAfter,
    minCheckpointCount: pb.getMinCheckpointCount(),
    maxCheckpointCount: pb.getMaxCheckpointCount(),
    maxSubscriberCount: pb.getMaxSubscriberCount(),
    liveBufferSize: pb.getLiveBufferSize(),
    readBatchSize: pb.getReadBatchSize(),
    historyBufferSize: pb.getHistoryBufferSize(),
    strategy,
  };
  for (const [k, v] of Object.entries(s)) if (typeof v === 'number' && (!Number.isFinite(v) || v < 0)) return `${k} must not be negative`;
  return s;
}

/**
 * The source and start of a Create/Update request: `$all` options, the stream options of 21.10+, or (what client
 * 6.x sends for streams) the deprecated stream identifier with `settings.revision` (u64 max = end).
 */
function sourceOf(o: persistentPb.CreateReq.Options | persistentPb.UpdateReq.Options): { source: string; startFrom: StartFrom } {
  const a = o.getAll();
  if (a) {
    const commit = a.getPosition()?.getCommitPosition() ?? '';
    const startFrom: StartFrom = a.hasEnd() ? { kind: 'end' } : a.hasPosition() && /^\d+$/.test(commit) ? { kind: 'at', value: Number(commit) } : { kind: 'start' };
    return { source: ALL, startFrom };
  }
  const so = o.getStream();
  const source = streamName(so?.getStreamIdentifier() ?? o.getStreamIdentifier()) ?? '';
  const rev = so?.hasRevision() ? so.getRevision() : so?.hasEnd() ? U64_MAX : so?.hasStart() ? '0' : (o.getSettings()?.getRevision() ?? '0');
  const startFrom: StartFrom = rev === U64_MAX ? { kind: 'end' } : rev === '0' || rev === '' || !/^\d+$/.test(rev) ? { kind: 'start' } : { kind: 'at', value: Number(rev) };
  return { source, startFrom };
}

export class PersistentSubscriptions {
  private readonly groups = new Map<string, Group>();
  private timer: NodeJS.Timeout | undefined;
  private watching = false;
  private closed = false;
  private cancelWait: (() => void) | undefined;

  constructor(private readonly opts: PersistentOptions) {
    const row = lastEventOf(opts.store, CONFIG_STREAM);
    if (row) {
      try {
        const doc = JSON.parse(dataOf(row)) as { entries?: unknown[] };
        for (const e of doc.entries ?? []) {
          const c = e as GroupConfig;
          if (typeof c.source !== 'string' || typeof c.group !== 'string' || !c.settings) continue;
          const config: GroupConfig = { source: c.source, group: c.group, settings: c.settings, startFrom: parseStartFrom(c.startFrom), filter: c.filter };
          this.groups.set(this.key(c.source, c.group), new Group(config, opts.store));
        }
      } catch {
        // An unreadable config event: start with no groups rather than not at all.
      }
    }
    this.timer = setInterval(() => {
      const now = Date.now();
      for (const g of this.groups.values()) g.tick(now);
    }, TICK_MS);
    this.timer.unref();
  }

  private key(source: string, group: string): string {
    return `${source}\u0000${group}`;
  }

  /** One waiter for the whole service: every commit wakes the groups that have consumers. */
  private watch(): void {
    if (this.watching || this.closed) return;
    this.watching = true;
    const loop = async () => {
      let seen = this.opts.store.head;
      while (!this.closed && !this.opts.store.isClosed) {
        const w = this.opts.store.waitForCommitAfter(seen);
        this.cancelWait = w.cancel;
        await w.promise;
        seen = this.opts.store.head;
        for (const g of this.groups.values()) if (g.consumers.length > 0) g.pump();
      }
    };
    void loop();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.cancelWait?.();
    for (const g of this.groups.values()) g.dropAll();
  }

  private async saveConfig(user: string): Promise<void> {
    const entries = [...this.groups.values()].map((g) => g.config);
    const doc = { version: '2', updated: new Date().toISOString(), updatedBy: user || '$system', entries };
    const outcome = await this.opts.store.write({ kind: 'append', stream: CONFIG_STREAM, expected: { kind: 'any' }, events: [proposed(CONFIG_EVENT, JSON.stringify(doc))] });
    if (!outcome.ok) throw new Error(`could not write ${CONFIG_STREAM}`);
  }

  /** Soft-deletes the group's checkpoint and parked streams (as EventStoreDB does when a group is deleted). */
  private async forget(source: string, group: string): Promise<void> {
    for (const name of [checkpointStreamOf(source, group), parkedStreamOf(source, group)]) {
      const st = this.opts.store.stream(name);
      if (st && st.lastRev >= 0 && !st.meta.softDeleted && !st.tombstoned) await this.opts.store.write({ kind: 'delete', stream: name, expected: { kind: 'any' } });
    }
  }

  // ---------------------------------------------------------------- gRPC handlers

  service(): grpc.UntypedServiceImplementation {
    const { security } = this.opts;
    /** `manage`: create, update, delete, replay parked and restart are for `$admins` and `$ops`; info and lists for any user. */
    const guard = <Req, Resp>(manage: boolean, handler: (call: grpc.ServerUnaryCall<Req, Resp>, user: Principal) => Promise<Resp>) => {
      return (call: grpc.ServerUnaryCall<Req, Resp>, cb: grpc.sendUnaryData<Resp>) => {
        const p = security.authenticate(call.metadata);
        if (!isPrincipal(p)) return cb(p);
        const denied = manage ? security.checkOperations(p) : p.anonymous ? errors.accessDenied() : undefined;
        if (denied) return cb(denied);
        handler(call, p).then(
          (resp) => cb(null, resp),
          (err: unknown) => cb(err && typeof err === 'object' && 'code' in err ? (err as GrpcError) : errors.unavailable(`persistent subscriptions: ${(err as Error).message}`)),
        );
      };
    };

    /** The group a GetInfo/ReplayParked/Delete request names, or NOT_FOUND. */
    const groupOf = (o: { hasAll(): boolean; getStreamIdentifier(): sharedPb.StreamIdentifier | undefined; getGroupName(): string } | undefined) => {
      const source = o?.hasAll() ? ALL : (streamName(o?.getStreamIdentifier()) ?? '');
      const group = o?.getGroupName() ?? '';
      const g = this.groups.get(this.key(source, group));
      if (!g) throw psErrors.notFound(source, group);
      return g;
    };

    const create = guard<persistentPb.CreateReq, persistentPb.CreateResp>(true, async (call, user) => {
      const o = call.request.getOptions();
      if (!o) throw errors.invalidArgument('options are required');
      const group = o.getGroupName();
      const { source, startFrom } = sourceOf(o);
      let filter: FilterSpec | undefined;
      const all = o.getAll();
      if (all?.hasFilter()) {
        try {
          filter = filterSpecOf(all.getFilter()!);
          compileFilter(filter);
        } catch (err) {
          throw errors.invalidArgument((err as Error).message);
        }
      }
      if (!source) throw errors.invalidArgument('stream name must not be empty');
      if (!group) throw errors.invalidArgument('group name must not be empty');
      const settings = settingsOf(o.getSettings());
      if (typeof settings === 'string') throw psErrors.failed(source, group, settings);
      const key = this.key(source, group);
      if (this.groups.has(key)) throw psErrors.exists(source, group);
      await this.forget(source, group); // leftovers of an earlier group of that name
      const g = new Group({ source, group, settings, startFrom, filter }, this.opts.store);
      this.groups.set(key, g);
      try {
        await this.saveConfig(user.name);
      } catch (err) {
        this.groups.delete(key);
        throw err;
      }
      return new persistentPb.CreateResp();
    });

    const update = guard<persistentPb.UpdateReq, persistentPb.UpdateResp>(true, async (call, user) => {
      const o = call.request.getOptions();
      if (!o) throw errors.invalidArgument('options are required');
      const group = o.getGroupName();
      const { source, startFrom } = sourceOf(o);
      const key = this.key(source, group);
      const old = this.groups.get(key);
      if (!old) throw psErrors.notFound(source, group);
      const settings = settingsOf(o.getSettings());
      if (typeof settings === 'string') throw psErrors.failed(source, group, settings);
      old.dropAll();
      // The filter of a $all group cannot be changed by an update (the request has none), as in EventStoreDB.
      this.groups.set(key, new Group({ source, group, settings, startFrom, filter: old.config.filter }, this.opts.store));
      await this.saveConfig(user.name);
      return new persistentPb.UpdateResp();
    });

    const del = guard<persistentPb.DeleteReq, persistentPb.DeleteResp>(true, async (call, user) => {
      const g = groupOf(call.request.getOptions());
      const { source, group } = g.config;
      g.dropAll();
      this.groups.delete(this.key(source, group));
      await this.saveConfig(user.name);
      await this.forget(source, group);
      return new persistentPb.DeleteResp();
    });

    const getInfo = guard<persistentPb.GetInfoReq, persistentPb.GetInfoResp>(false, async (call) => {
      return new persistentPb.GetInfoResp().setSubscriptionInfo(groupOf(call.request.getOptions()).info());
    });

    const list = guard<persistentPb.ListReq, persistentPb.ListResp>(false, async (call) => {
      const o = call.request.getOptions();
      let groups = [...this.groups.values()];
      if (o?.hasListForStream()) {
        const so = o.getListForStream()!;
        const source = so.hasAll() ? ALL : (streamName(so.getStream()) ?? '');
        groups = groups.filter((g) => g.config.source === source);
        if (groups.length === 0) throw psErrors.notFound(source, '');
      }
      const resp = new persistentPb.ListResp();
      for (const g of groups) resp.addSubscriptions(g.info());
      return resp;
    });

    const replayParked = guard<persistentPb.ReplayParkedReq, persistentPb.ReplayParkedResp>(true, async (call) => {
      const o = call.request.getOptions();
      const g = groupOf(o);
      const stopAt = o?.hasStopAt() ? Number(o.getStopAt()) : undefined;
      await g.replayParked(stopAt);
      return new persistentPb.ReplayParkedResp();
    });

    const restartSubsystem = guard<unknown, unknown>(true, async () => {
      // Every group starts over from its checkpoint; connected consumers are dropped and reconnect.
      for (const [key, g] of this.groups) {
        g.dropAll();
        this.groups.set(key, new Group(g.config, this.opts.store));
      }
      return new sharedPb.Empty();
    });

    const read = (call: grpc.ServerDuplexStream<persistentPb.ReadReq | Settlement, Buffer>) => {
      const principal = security.authenticate(call.metadata);
      if (!isPrincipal(principal)) return call.emit('error', principal);
      let group: Group | undefined;
      let consumer: Consumer | undefined;
      const leave = () => {
        if (group && consumer) group.removeConsumer(consumer);
        group = undefined;
      };
      call.on('data', (req: persistentPb.ReadReq | Settlement) => {
        if ('ids' in req) {
          if (!group) return;
          if (req.nack) group.nack(req.action, req.ids, req.reason);
          else group.ack(req.ids);
        } else if (req.hasOptions()) {
          if (consumer) return;
          const o = req.getOptions()!;
          const source = o.hasAll() ? ALL : (streamName(o.getStreamIdentifier()) ?? '');
          const denied = security.check(principal, source, 'r');
          if (denied) return call.emit('error', denied);
          const g = this.groups.get(this.key(source, o.getGroupName()));
          if (!g) return call.emit('error', psErrors.notFound(source, o.getGroupName()));
          const c: Consumer = {
            call,
            slots: Math.max(1, o.getBufferSize()),
            inflight: new Set(),
            from: call.getPeer(),
            username: principal.name,
            connectionName: String(call.metadata.get('connection-name')[0] ?? ''),
            total: 0,
            lastTotal: 0,
            latencies: [],
            latencyNext: 0,
          };
          const full = g.addConsumer(c);
          if (full) return call.emit('error', full);
          group = g;
          consumer = c;
          call.write(encodeConfirmation(`${source}::${o.getGroupName()}`));
          this.watch();
          g.pump();
        } else if (group && req.hasAck()) {
          group.ack(req.getAck()!.getIdsList().map((u) => uuidToString(u)!.toLowerCase()));
        } else if (group && req.hasNack()) {
          const n = req.getNack()!;
          group.nack(n.getAction(), n.getIdsList().map((u) => uuidToString(u)!.toLowerCase()), n.getReason());
        }
      });
      call.on('end', () => {
        leave();
        try {
          call.end();
        } catch {
          // Already ended (cancelled): nothing to close.
        }
      });
      call.on('cancelled', leave);
      call.on('error', leave);
      call.on('close', leave);
    };

    return {
      create: create as grpc.handleUnaryCall<unknown, unknown>,
      update: update as grpc.handleUnaryCall<unknown, unknown>,
      delete: del as grpc.handleUnaryCall<unknown, unknown>,
      getInfo: getInfo as grpc.handleUnaryCall<unknown, unknown>,
      list: list as grpc.handleUnaryCall<unknown, unknown>,
      replayParked: replayParked as grpc.handleUnaryCall<unknown, unknown>,
      restartSubsystem: restartSubsystem as grpc.handleUnaryCall<unknown, unknown>,
      read: read as unknown as grpc.handleBidiStreamingCall<unknown, unknown>,
    };
  }
}

/** The service definition, with Read responses passed through as pre-encoded frames. */
export function persistentDefinition(): grpc.ServiceDefinition {
  const def = persistentGrpc.PersistentSubscriptionsService as unknown as grpc.ServiceDefinition;
  const read = def.read;
  return {
    ...def,
    read: {
      ...read,
      responseSerialize: (v: unknown) => (Buffer.isBuffer(v) ? v : read.responseSerialize(v)),
      requestDeserialize: (b: Buffer) => decodeSettlement(b) ?? read.requestDeserialize(b),
    },
  };
}

/** Methods and features for ServerFeatures. */
export const PERSISTENT_METHODS: Array<[string, string[]]> = [
  ['create', ['stream', 'all']],
  ['update', ['stream', 'all']],
  ['delete', ['stream', 'all']],
  ['read', ['stream', 'all']],
  ['getinfo', ['stream', 'all']],
  ['replayparked', ['stream', 'all']],
  ['list', ['stream', 'all']],
  ['restartsubsystem', []],
];
