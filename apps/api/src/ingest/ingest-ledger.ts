import { Inject, Injectable } from '@nestjs/common';
import { RUNTIME, type CairnRuntime } from '../runtime';

/** Ingest-index rows kept in memory at most while the read store refuses them. */
const MAX_UNINDEXED = 50_000;

/**
 * What every ingest path of one process shares (`POST /v1/events` and `POST /v1/events/import`):
 * the ids being appended right now, so a concurrent request with the same ids waits and then
 * answers `duplicate` instead of appending again; and the ingest-index rows whose write failed,
 * written with the next successful write.
 */
@Injectable()
export class IngestLedger {
  private readonly inFlight = new Map<string, Promise<void>>();
  private unindexed: { id: string; streamId: string }[] = [];

  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  /** Resolves once no append of these ids is in flight in this process. */
  async settled(ids: readonly string[]): Promise<void> {
    if (this.inFlight.size === 0) return;
    const pending: Promise<void>[] = [];
    for (const id of ids) {
      const p = this.inFlight.get(id);
      if (p !== undefined) pending.push(p);
    }
    if (pending.length > 0) await Promise.allSettled(pending);
  }

  /** Marks ids as being appended; call the returned function once the append has settled. */
  claim(ids: readonly string[]): () => void {
    let release!: () => void;
    const done = new Promise<void>((r) => (release = r));
    for (const id of ids) this.inFlight.set(id, done);
    return () => {
      for (const id of ids) if (this.inFlight.get(id) === done) this.inFlight.delete(id);
      release();
    };
  }

  /**
   * Records appended ids in the ingest index. A failure is logged and the rows are retried with the
   * next write, never answered: the events are in the log, and the index only serves `duplicate`
   * answers (the event store's own idempotency by id still stores a re-sent id once).
   */
  async index(rows: readonly { id: string; streamId: string }[], at: Date): Promise<void> {
    const batch = this.unindexed.length > 0 ? [...this.unindexed, ...rows] : rows;
    if (batch.length === 0) return;
    try {
      await this.runtime.ingestIndex.record(batch, at);
      this.unindexed = [];
    } catch (err) {
      this.unindexed = batch.slice(-MAX_UNINDEXED);
      this.runtime.logger.warn({ err, pending: this.unindexed.length }, 'ingest index write failed after the append (events are in the log; their ids are indexed later)');
    }
  }
}
