/**
 * Reading Cairn's history for rebuilds and replays: `$all` forwards, filtered server-side to Cairn's
 * event types, in batches, from an exclusive position. One long read (not a subscription): the
 * caller decides what "caught up" means.
 */
import { END, FORWARDS, START, eventTypeFilter, BACKWARDS } from '@eventstore/db-client';
import { CAIRN_EVENT_TYPE_PREFIX } from '@cairn/domain';
import type { CairnEventStore } from '@cairn/event-store';
import { toLogEvent } from '../engine/decode';
import type { LogEvent } from '../projection';

export async function* readHistory(events: CairnEventStore, from: bigint | null, batchSize: number): AsyncGenerator<LogEvent[]> {
  const read = events.client.readAll({
    direction: FORWARDS,
    fromPosition: from === null ? START : { commit: from, prepare: from },
    maxCount: Number.MAX_SAFE_INTEGER,
    filter: eventTypeFilter({ prefixes: [CAIRN_EVENT_TYPE_PREFIX] }),
  } as never);
  let batch: LogEvent[] = [];
  let finished = false;
  try {
    for await (const resolved of read) {
      const e = toLogEvent(resolved);
      if (e === null || (from !== null && e.position <= from)) continue;
      batch.push(e);
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
    finished = true;
    if (batch.length > 0) yield batch;
  } finally {
    // Left early (a strict rebuild's poison, an abort): cancel the gRPC call, or it stays open and
    // the client's dispose waits for it.
    if (!finished) await (read as unknown as { cancel(): Promise<void> }).cancel().catch(() => undefined);
  }
}

/** Commit position of the last Cairn event, or null for an empty log. */
export async function headPosition(events: CairnEventStore): Promise<bigint | null> {
  const read = events.client.readAll({
    direction: BACKWARDS,
    fromPosition: END,
    maxCount: 1,
    filter: eventTypeFilter({ prefixes: [CAIRN_EVENT_TYPE_PREFIX] }),
  } as never);
  let head: bigint | null = null;
  for await (const r of read) if (r.event?.position) head = r.event.position.commit;
  return head;
}

/** Progress of a pass over the log, as events done, an estimated total, rate and ETA. */
export class Progress {
  private readonly started = Date.now();
  private readonly startDone: number;
  constructor(
    private readonly from: bigint,
    public head: bigint,
    public done: number,
  ) {
    this.startDone = done;
  }

  snapshot(position: bigint | null): { done: number; total: number; rate: number; etaSeconds: number | null; fraction: number } {
    const span = this.head - this.from;
    const at = position === null ? this.from : position;
    const fraction = span <= 0n ? 1 : Math.min(1, Number(at - this.from) / Number(span));
    const seconds = (Date.now() - this.started) / 1000;
    const rate = seconds > 0 ? (this.done - this.startDone) / seconds : 0;
    const newDone = this.done - this.startDone;
    // Events are not evenly spread over positions, but near enough for a progress bar.
    const total = fraction > 0 ? Math.max(this.done, Math.round(this.startDone + newDone / fraction)) : this.done;
    const etaSeconds = rate > 0 ? Math.max(0, (total - this.done) / rate) : null;
    return { done: this.done, total, rate: Math.round(rate), etaSeconds: etaSeconds === null ? null : Math.round(etaSeconds), fraction };
  }
}
