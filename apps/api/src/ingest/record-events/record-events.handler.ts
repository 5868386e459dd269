import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'crypto';
import { streamFor, toStoredEvent } from '@cairn/domain';
import { findIngested, recordIngested, type EventToAppend } from '@cairn/event-store';
import { Metrics } from '../../metrics/metrics';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { parseEvent } from './record-events.request.dto';
import { RecordEventsCommand, type EventOutcome, type RecordEventsResult } from './record-events.command';

/**
 * Validates every event, answers `duplicate` for ids already stored (or repeated in the request, or
 * being appended by a concurrent request), appends the rest to their customer/visitor streams and
 * acknowledges only once the event store has acknowledged (durably).
 */
@CommandHandler(RecordEventsCommand)
export class RecordEventsHandler implements ICommandHandler<RecordEventsCommand, RecordEventsResult> {
  /** Ids being appended right now, by any request in this process. */
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(
    @Inject(RUNTIME) private readonly runtime: CairnRuntime,
    private readonly metrics: Metrics,
  ) {}

  async execute(command: RecordEventsCommand): Promise<RecordEventsResult> {
    const results: EventOutcome[] = [];
    const candidates: { index: number; append: EventToAppend }[] = [];
    const seen = new Set<string>();
    const metadata = { receivedAt: command.receivedAt.toISOString(), correlationId: command.correlationId };

    command.events.forEach((raw, index) => {
      const parsed = parseEvent(raw, command.receivedAt);
      if (!parsed.ok) {
        results[index] = { index, ...(parsed.id !== undefined ? { id: parsed.id } : {}), status: 'rejected', errors: parsed.errors };
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
    const pending = candidates.map((c) => this.inFlight.get(c.append.id)).filter((p): p is Promise<void> => p !== undefined);
    if (pending.length > 0) await Promise.allSettled(pending);
    const stored = candidates.length === 0 ? new Set<string>() : await findIngested(this.runtime.readStore.db, candidates.map((c) => c.append.id));
    const fresh = candidates.filter((c) => {
      if (!stored.has(c.append.id)) return true;
      results[c.index] = { index: c.index, id: c.append.id, status: 'duplicate' };
      return false;
    });

    let position: RecordEventsResult['position'] = null;
    if (fresh.length > 0) {
      let release!: () => void;
      const done = new Promise<void>((r) => (release = r));
      for (const c of fresh) this.inFlight.set(c.append.id, done);
      const started = process.hrtime.bigint();
      try {
        const reached = await this.runtime.events.append(fresh.map((c) => c.append));
        this.metrics.appendSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
        await recordIngested(this.runtime.readStore.db, fresh.map((c) => ({ id: c.append.id, streamId: c.append.streamId })), command.receivedAt);
        position = reached ? { commit: reached.commit.toString(), prepare: reached.prepare.toString() } : null;
      } finally {
        for (const c of fresh) this.inFlight.delete(c.append.id);
        release();
      }
      for (const c of fresh) results[c.index] = { index: c.index, id: c.append.id, status: 'accepted' };
    }
    for (const r of results) this.metrics.ingested.inc({ outcome: r.status });
    return { results, position };
  }
}
