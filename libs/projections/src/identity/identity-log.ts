/**
 * The admin identity log: merges and unmerges recorded as events in `identity-merges`. The profile
 * projection reads it inside its own transaction (its types are not part of the ingest catalogue,
 * so no other projection is fed them).
 */
import { FORWARDS, START, StreamNotFoundError } from '@eventstore/db-client';
import { IDENTITY_STREAM, isIdentityEventType, type IdentityEvent } from '@cairn/domain';
import type { CairnEventStore } from '@cairn/event-store';

export interface RecordedIdentityEvent {
  readonly revision: bigint;
  readonly event: IdentityEvent;
}

export interface IdentityLog {
  /** Identity events after `revision` (exclusive; null = from the start), in stream order. */
  readAfter(revision: bigint | null): Promise<RecordedIdentityEvent[]>;
}

/**
 * The log in EventStoreDB. Reads are throttled to one per `minIntervalMs` (a read in between
 * answers "nothing new yet", picked up by a later batch): admin merges are rare, and the command
 * that records one applies it at once itself, so the projection's read is only the backstop (and
 * what a rebuild replays). This keeps small projector batches from paying a round trip each.
 */
export function eventStoreIdentityLog(events: CairnEventStore, opts: { minIntervalMs?: number } = {}): IdentityLog {
  const minIntervalMs = opts.minIntervalMs ?? 1000;
  let lastRead = -Infinity;
  return {
    async readAfter(revision) {
      const now = Date.now();
      if (now - lastRead < minIntervalMs) return [];
      lastRead = now;
      const out: RecordedIdentityEvent[] = [];
      try {
        const read = events.client.readStream(IDENTITY_STREAM, { direction: FORWARDS, fromRevision: revision === null ? START : revision + 1n });
        for await (const r of read) {
          const e = r.event;
          if (!e || !e.isJson || !isIdentityEventType(e.type)) continue;
          out.push({ revision: e.revision, event: { type: e.type, data: e.data } as IdentityEvent });
        }
      } catch (err) {
        if (err instanceof StreamNotFoundError) return [];
        throw err;
      }
      return out;
    },
  };
}

/** An in-memory log (tests, what-if replays). */
export function memoryIdentityLog(events: IdentityEvent[] = []): IdentityLog & { append(e: IdentityEvent): void } {
  return {
    append: (e) => void events.push(e),
    readAfter: async (revision) =>
      events.map((event, i) => ({ revision: BigInt(i), event })).filter((r) => revision === null || r.revision > revision),
  };
}
