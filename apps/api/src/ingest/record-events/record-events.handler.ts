import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'crypto';
import { CairnError, ERROR_CODES, emailIdErrors, streamFor, toStoredEvent } from '@cairn/domain';
import { storeUnavailableReason } from '@cairn/read-models';
import type { EventToAppend } from '@cairn/event-store';
import { Metrics } from '../../metrics/metrics';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { IngestLedger } from '../ingest-ledger';
import { parseEvent } from './record-events.request.dto';
import { RecordEventsCommand, type EventOutcome, type RecordEventsResult } from './record-events.command';

/**
 * Validates every event, answers `duplicate` for ids already stored (or repeated in the request, or
 * being appended by a concurrent request), appends the rest to their customer/visitor streams and
 * acknowledges only once the event store has acknowledged (durably).
 *
 * Faults (docs/operations.md, "Faults Cairn survives"):
 * - The event store fails an append (disk full, I/O error, unreachable): 503 CAIRN.UNAVAILABLE with
 *   Retry-After, `details.events` listing every event of the request with its id (server-assigned
 *   ids too) and `accepted` (its stream was appended) or `retry` (not acknowledged). Retry the
 *   `retry` ones WITH THE SAME IDS: an id that did reach the log is answered `duplicate`, never
 *   stored twice. On the embedded node a failed append writes nothing.
 * - The append succeeded but the ingest-index write failed (PostgreSQL read store down, the
 *   disk full): the events ARE in the log, so the answer is `accepted` — an error would invite a
 *   retry, and a client without ids would then store a second copy. The index is only a cache for
 *   `duplicate` answers: the failure is logged, the rows are kept in memory and written with the
 *   next successful request (and a re-sent id is still not stored twice: the event store's own
 *   idempotency by id answers it).
 */
@CommandHandler(RecordEventsCommand)
export class RecordEventsHandler implements ICommandHandler<RecordEventsCommand, RecordEventsResult> {
  constructor(
    @Inject(RUNTIME) private readonly runtime: CairnRuntime,
    private readonly metrics: Metrics,
    /** Ids being appended by any ingest request of this process (imports too), unindexed rows. */
    private readonly ledger: IngestLedger,
  ) {}

  async execute(command: RecordEventsCommand): Promise<RecordEventsResult> {
    const results: EventOutcome[] = [];
    const candidates: { index: number; append: EventToAppend }[] = [];
    const seen = new Set<string>();
    const metadata = { receivedAt: command.receivedAt.toISOString(), correlationId: command.correlationId };
    const allowEmailIds = this.runtime.config.allowEmailIds === 'true';

    command.events.forEach((raw, index) => {
      const parsed = parseEvent(raw, command.receivedAt);
      if (!parsed.ok) {
        results[index] = { index, ...(parsed.id !== undefined ? { id: parsed.id } : {}), status: 'rejected', errors: parsed.errors };
        return;
      }
      const emailIds = emailIdErrors(parsed.input, allowEmailIds);
      if (emailIds.length > 0) {
        results[index] = { index, ...(parsed.input.id !== undefined ? { id: parsed.input.id } : {}), status: 'rejected', errors: emailIds };
        return;
      }
      const id = parsed.input.id?.toLowerCase() ?? randomUUID();
      if (seen.has(id)) {
        results[index] = { index, id, status: 'duplicate' };
        return;
      }
      seen.add(id);
      candidates.push({ index, append: { id, streamId: streamFor(parsed.input), event: toStoredEvent(parsed.input), metadata } });
    });

    // Wait for concurrent appends of the same ids, then ask the ingest index what is already stored.
    await this.ledger.settled(candidates.map((c) => c.append.id));
    const stored = candidates.length === 0 ? new Set<string>() : await this.runtime.ingestIndex.find(candidates.map((c) => c.append.id));
    const fresh = candidates.filter((c) => {
      if (!stored.has(c.append.id)) return true;
      results[c.index] = { index: c.index, id: c.append.id, status: 'duplicate' };
      return false;
    });

    let position: RecordEventsResult['position'] = null;
    if (fresh.length > 0) {
      const release = this.ledger.claim(fresh.map((c) => c.append.id));
      const started = process.hrtime.bigint();
      try {
        const outcomes = await this.runtime.events.appendEach(await this.sealed(fresh.map((c) => c.append), fresh.map((c) => ({ index: c.index, id: c.append.id })), results));
        const appended = new Set(outcomes.flatMap((o) => (o.ok ? o.ids : [])));
        const failure = outcomes.find((o) => !o.ok);
        await this.ledger.index(fresh.filter((c) => appended.has(c.append.id)).map((c) => ({ id: c.append.id, streamId: c.append.streamId })), command.receivedAt);
        if (failure && !failure.ok) {
          const events = [
            ...results.filter((r) => r !== undefined).map((r) => ({ index: r.index, ...(r.id !== undefined ? { id: r.id } : {}), status: r.status })),
            ...fresh.map((c) => ({ index: c.index, id: c.append.id, status: appended.has(c.append.id) ? 'accepted' : 'retry' })),
          ].sort((a, b) => a.index - b.index);
          this.runtime.logger.warn({ cause: (failure.error as { cause?: unknown }).cause ?? failure.error.message, notAppended: fresh.length - appended.size }, 'append failed');
          throw new CairnError(
            ERROR_CODES.UNAVAILABLE,
            'event store unavailable: events marked "retry" were not acknowledged; send them again with the same ids (an id already stored is answered "duplicate", never stored twice)',
            { component: 'eventStore', events },
          );
        }
        this.metrics.appendSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
        let best: { commit: bigint; prepare: bigint } | null = null;
        for (const o of outcomes) if (o.ok && o.position && (!best || o.position.commit > best.commit)) best = o.position;
        position = best ? { commit: best.commit.toString(), prepare: best.prepare.toString() } : null;
      } finally {
        release();
      }
      for (const c of fresh) results[c.index] = { index: c.index, id: c.append.id, status: 'accepted' };
    }
    for (const r of results) this.metrics.ingested.inc({ outcome: r.status });
    return { results, position };
  }

  /**
   * The events with their personal values sealed (docs/privacy.md). The data keys live in the read
   * store: when it is down, nothing is appended and every new event is answered `retry` (503).
   */
  private async sealed(appends: EventToAppend[], fresh: { index: number; id: string }[], results: EventOutcome[]): Promise<EventToAppend[]> {
    try {
      return await this.runtime.vault.seal(appends);
    } catch (err) {
      const reason = storeUnavailableReason(err);
      if (reason === undefined) throw err;
      this.runtime.logger.warn({ reason }, 'personal data keys unavailable: nothing appended');
      const events = [
        ...results.filter((r) => r !== undefined).map((r) => ({ index: r.index, ...(r.id !== undefined ? { id: r.id } : {}), status: r.status })),
        ...fresh.map((c) => ({ index: c.index, id: c.id, status: 'retry' })),
      ].sort((a, b) => a.index - b.index);
      throw new CairnError(ERROR_CODES.UNAVAILABLE, `read store unavailable (${reason}): the personal data keys are there; nothing was appended, send the events marked "retry" again with the same ids`, { component: 'readStore', events });
    }
  }
}
