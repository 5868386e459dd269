/**
 * The event-store adapter: Cairn's only door to EventStoreDB, always through the real
 * `@eventstore/db-client` (an embedded node or a real cluster: only the connection string differs).
 */
import {
  END,
  EventStoreDBClient,
  FORWARDS,
  BACKWARDS,
  START,
  WrongExpectedVersionError,
  eventTypeFilter,
  jsonEvent,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type Position,
} from '@eventstore/db-client';
import {
  CAIRN_EVENT_TYPE_PREFIX,
  CairnError,
  ERROR_CODES,
  isCairnEventType,
  isIdentityEventType,
  type CairnEvent,
  type CairnEventMetadata,
  type RecordedCairnEvent,
} from '@cairn/domain';

export interface EventToAppend {
  readonly id: string;
  readonly streamId: string;
  readonly event: CairnEvent;
  readonly metadata: CairnEventMetadata;
}

export type StreamAppendOutcome =
  | { readonly ok: true; readonly streamId: string; readonly ids: readonly string[]; readonly position: LogPosition | null }
  | { readonly ok: false; readonly streamId: string; readonly ids: readonly string[]; readonly error: Error };

export interface LogPosition {
  readonly commit: bigint;
  readonly prepare: bigint;
}

/** Appends (one per stream) in flight at once in `appendEach`. */
const APPENDS_IN_FLIGHT = 128;

/** Events read per page when scanning `$all` for the events projections fold. */
const SCAN_PAGE = 512;

/** The types projections fold: the ingest catalogue and the admin identity commands. */
export function isFoldedEventType(type: string): boolean {
  return isCairnEventType(type) || isIdentityEventType(type);
}

/** Maps the client's resolved event to Cairn's recorded event, or null for anything not Cairn's. */
export function toRecordedCairnEvent(resolved: AllStreamResolvedEvent): RecordedCairnEvent | null {
  const e = resolved.event;
  if (!e || !e.isJson || !isCairnEventType(e.type) || !e.position) return null;
  return {
    id: e.id,
    type: e.type,
    data: e.data as CairnEvent['data'],
    metadata: e.metadata as unknown as CairnEventMetadata,
    streamId: e.streamId,
    revision: e.revision,
    position: e.position.commit,
  } as RecordedCairnEvent;
}

export class CairnEventStore {
  /** `connectionString`: where the client connects, when known (a long history read opens its own connection in a worker thread). */
  constructor(
    readonly client: EventStoreDBClient,
    readonly connectionString?: string,
  ) {}

  static connect(connectionString: string): CairnEventStore {
    return new CairnEventStore(EventStoreDBClient.connectionString(connectionString), connectionString);
  }

  /**
   * Appends events, grouped per stream in their given order, with expected revision ANY: the
   * ingest path is append-only facts, and EventStoreDB's idempotency by event id makes a retried
   * append harmless. Returns the highest log position reached. Throws when any stream's append
   * failed (other streams of the same call may have been appended: see `appendEach`).
   */
  async append(events: readonly EventToAppend[]): Promise<LogPosition | null> {
    const outcomes = await this.appendEach(events);
    const failed = outcomes.find((o) => !o.ok);
    if (failed && !failed.ok) throw failed.error;
    let best: LogPosition | null = null;
    for (const o of outcomes) if (o.ok && o.position && (!best || o.position.commit > best.commit)) best = o.position;
    return best;
  }

  /**
   * Appends events grouped per stream (one append per stream, in parallel) and reports each
   * stream's outcome: an append is atomic per stream, not across streams.
   */
  async appendEach(events: readonly EventToAppend[]): Promise<StreamAppendOutcome[]> {
    const byStream = new Map<string, EventToAppend[]>();
    for (const e of events) {
      const list = byStream.get(e.streamId);
      if (list) list.push(e);
      else byStream.set(e.streamId, [e]);
    }
    const streams = [...byStream];
    const outcomes: StreamAppendOutcome[] = new Array(streams.length);
    const appendOne = ([streamId, list]: [string, EventToAppend[]]): Promise<StreamAppendOutcome> => {
      const ids = list.map((e) => e.id);
      return this.client
        .appendToStream(
          streamId,
          // Metadata as its JSON bytes: the same bytes on the wire, without the client's base64 round trip
          // (encode, then decode again in the protobuf writer) of every event's metadata.
          list.map((e) => jsonEvent({ id: e.id, type: e.event.type, data: e.event.data as never, metadata: Buffer.from(JSON.stringify(e.metadata)) })),
        )
        .then(
          (r) => ({ ok: true as const, streamId, ids, position: r.position ? { commit: r.position.commit, prepare: r.position.prepare } : null }),
          (err: unknown) => ({ ok: false as const, streamId, ids, error: translate(err) }),
        );
    };
    // At most APPENDS_IN_FLIGHT calls at once: each call's deadline runs from its start, so thousands
    // started together (an import group of as many streams) timed out at the tail on a busy machine
    // while the node was still working through the head; the node group-commits concurrent appends anyway.
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(APPENDS_IN_FLIGHT, streams.length) }, async () => {
        while (next < streams.length) {
          const i = next++;
          outcomes[i] = await appendOne(streams[i]!);
        }
      }),
    );
    return outcomes;
  }

  /** Catch-up subscription to `$all`, filtered server-side to Cairn's event types, after `from` (exclusive). */
  subscribeToCairnEvents(from: bigint | null, checkpointInterval = 32): AllStreamSubscription {
    return this.client.subscribeToAll({
      fromPosition: from === null ? START : { commit: from, prepare: from },
      filter: eventTypeFilter({ prefixes: [CAIRN_EVENT_TYPE_PREFIX], checkpointInterval }),
    });
  }

  /**
   * The last event in the log that projections fold (the ingest catalogue and the admin identity
   * commands), if any: projectors measure their lag against it. The client's `readAll` sends no
   * server-side filter (6.x reads `$all` unfiltered; only subscriptions filter), and `$all` holds
   * system events and Cairn's own definitions (segments, programs), which no projection folds and
   * no checkpoint passes: the log is read backwards a page at a time until a folded event.
   */
  async lastCairnEvent(): Promise<{ position: bigint; created: Date } | null> {
    // Usually the last event is one: read one, then pages growing to SCAN_PAGE (every read answer asks).
    let from: Position | typeof END = END;
    for (let size = 1; ; size = Math.min(SCAN_PAGE, size * 16)) {
      const page = await this.readPage(BACKWARDS, from, size);
      for (const e of page) if (isFoldedEventType(e.type)) return { position: e.position.commit, created: e.created };
      if (page.length < size) return null;
      from = page[page.length - 1]!.position;
    }
  }

  /** One page of `$all` (read to its end, never abandoned half-way), events with a position only. */
  private async readPage(direction: typeof FORWARDS | typeof BACKWARDS, fromPosition: Position | typeof START | typeof END, maxCount = SCAN_PAGE): Promise<{ type: string; position: Position; created: Date }[]> {
    // Every event of `$all` has a position (only a stream read's unresolved links lack one).
    const out: { type: string; position: Position; created: Date }[] = [];
    const read: AsyncIterable<AllStreamResolvedEvent> = this.client.readAll({ direction, fromPosition, maxCount });
    for await (const r of read) if (r.event?.position) out.push({ type: r.event.type, position: r.event.position, created: r.event.created });
    return out;
  }

  /**
   * How far behind each checkpoint is: Cairn events after it (exclusive), counting at most `cap`
   * events in all, and the recorded time of the oldest one not yet folded. One scan serves every
   * checkpoint (it starts at the lowest).
   */
  async lagAfter(checkpoints: readonly (bigint | null)[], cap: number): Promise<{ count: number; capped: boolean; oldestCreated: Date | null }[]> {
    if (checkpoints.length === 0) return [];
    const from = checkpoints.some((c) => c === null) ? null : checkpoints.reduce<bigint>((a, c) => (c! < a ? c! : a), checkpoints[0]!);
    // Forwards a page at a time (no server-side filter on `readAll`, see `lastCairnEvent`), counting
    // only what projections fold, until `cap` + 1 of them or the end of the log.
    const seen: { position: bigint; created: Date }[] = [];
    let at: Position | typeof START = from === null ? START : { commit: from, prepare: from };
    // A forward read includes the event at its starting position: skip what was seen (or is the checkpoint).
    let after = from;
    for (;;) {
      const page = await this.readPage(FORWARDS, at);
      for (const e of page) {
        if (after !== null && e.position.commit <= after) continue;
        after = e.position.commit;
        if (isFoldedEventType(e.type) && seen.length <= cap) seen.push({ position: e.position.commit, created: e.created });
      }
      if (page.length < SCAN_PAGE || seen.length > cap) break;
      at = page[page.length - 1]!.position;
    }
    const capped = seen.length > cap;
    if (capped) seen.length = cap;
    return checkpoints.map((cp) => {
      const after = cp === null ? seen : seen.filter((e) => e.position > cp);
      return { count: after.length, capped, oldestCreated: after[0]?.created ?? null };
    });
  }

  /** Cheap liveness check for /health. */
  async ping(): Promise<void> {
    try {
      // Consumed to its end: leaving a read early (break) keeps the gRPC call open until dispose.
      const read = this.client.readAll({ direction: FORWARDS, fromPosition: START, maxCount: 1 });
      for await (const _ of read);
    } catch (err) {
      throw translate(err);
    }
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }
}

function translate(err: unknown): Error {
  if (err instanceof WrongExpectedVersionError) {
    return new CairnError(ERROR_CODES.STREAM_CONFLICT, err.message, {
      streamName: err.streamName,
      expected: String(err.expectedVersion),
      actual: String(err.actualVersion),
    });
  }
  return eventStoreUnavailable(err);
}

/**
 * 503 for a failed event-store call. The driver's text (it may carry SQLite's or the server's own
 * words) goes to the log as the cause, never to a client.
 */
export function eventStoreUnavailable(err: unknown): CairnError {
  const e = new CairnError(ERROR_CODES.UNAVAILABLE, 'event store unavailable; retry', { component: 'eventStore' });
  (e as { cause?: unknown }).cause = err instanceof Error ? err.message : String(err);
  return e;
}

export { BACKWARDS, FORWARDS, START, END };
