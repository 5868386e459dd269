import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { CairnError, ERROR_CODES, emailIdErrors, streamFor, toStoredEvent, type FieldError } from '@cairn/domain';
import type { EventToAppend } from '@cairn/event-store';
import { randomUUID } from 'crypto';
import { recordImport, storeUnavailableReason } from '@cairn/read-models';
import { MAX_BODY_BYTES, MAX_BODY_DEPTH, jsonDepth } from '../../body-limits';
import { Metrics } from '../../metrics/metrics';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { IngestLedger } from '../ingest-ledger';
import { parseEvent } from '../record-events/record-events.request.dto';
import { ImportEventsCommand, type ImportProgress, type ImportSummary } from './import-events.command';

/** The longest line (one event) an import takes: the body limit of POST /v1/events. */
export const MAX_IMPORT_LINE_BYTES = MAX_BODY_BYTES;
/** A group is appended once it holds CAIRN_IMPORT_GROUP_EVENTS lines (config.importGroupEvents)… */
/** …or this many bytes of events, whichever comes first (bounds the memory of an import). */
export const IMPORT_GROUP_BYTES = 8 * 1024 * 1024;
/**
 * …or before one stream's events in the group would pass this many bytes: a stream's events of a
 * group go in one append, and an append is at most 1 MiB (EventStoreDB's default, the embedded
 * node's too). Counted as line bytes plus an allowance for the metadata.
 */
export const IMPORT_STREAM_BYTES = 768 * 1024;
const METADATA_ALLOWANCE = 256;

interface Candidate {
  readonly line: number;
  readonly append: EventToAppend;
}

interface Group {
  readonly candidates: Candidate[];
  /** Last line read into this group (rejected and blank lines included). */
  lastLine: number;
  bytes: number;
  readonly streamBytes: Map<string, number>;
  readonly seen: Set<string>;
  /** Non-blank lines read into this group. */
  lines: number;
  rejected: number;
  /** Lines answered `duplicate` because the same id came earlier in the group. */
  repeated: number;
}

const newGroup = (): Group => ({ candidates: [], lastLine: 0, bytes: 0, streamBytes: new Map(), seen: new Set(), lines: 0, rejected: 0, repeated: 0 });

/**
 * `POST /v1/events/import`: each line is validated exactly as `POST /v1/events` validates an event
 * (parseEvent), must carry an id (a re-sent import is deduplicated by id), and is appended in groups
 * of up to CAIRN_IMPORT_GROUP_EVENTS lines through `events.appendEach` (one append per stream of the group,
 * in file order within a stream). While one group is being appended the next one is read and
 * validated; reading waits when both are busy, so memory stays at about two groups.
 *
 * After each group: `{acknowledged: N, …}` — every line up to N is durably appended, duplicate
 * (already in the log: the ingest index, as for POST /v1/events, or earlier in the same group) or
 * rejected. A rejected line is reported at once with its line number, field and reason, and never
 * fails the other lines.
 *
 * Faults (docs/operations.md, "Faults Cairn survives"): an append that fails (disk full, I/O error,
 * event store unreachable) or a read-store failure on the duplicate check ends the import with
 * CAIRN.UNAVAILABLE naming the last acknowledged line: resend from the next line (resending more is
 * harmless: ids already in the log are answered `duplicate`, never stored twice). The streams of the
 * failed group that did get appended are indexed, so their lines answer `duplicate` on the resend.
 * An ingest-index write that fails after a successful append does not fail the import (see
 * IngestLedger).
 */
@CommandHandler(ImportEventsCommand)
export class ImportEventsHandler implements ICommandHandler<ImportEventsCommand, ImportSummary> {
  constructor(
    @Inject(RUNTIME) private readonly runtime: CairnRuntime,
    private readonly metrics: Metrics,
    private readonly ledger: IngestLedger,
  ) {}

  async execute(command: ImportEventsCommand): Promise<ImportSummary> {
    const metadata = { receivedAt: command.receivedAt.toISOString(), correlationId: command.correlationId };
    const groupLines = this.runtime.config.importGroupEvents;
    /** Counts of the acknowledged lines only: a resend from `acknowledged + 1` counts each line once. */
    const counts = { acknowledged: 0, accepted: 0, duplicates: 0, rejected: 0, lines: 0 };
    let position: ImportSummary['position'] = null;
    let best: bigint | null = null;
    let group = newGroup();
    let flushing: Promise<void> | null = null;
    let failure: unknown = null;

    const flush = async (g: Group): Promise<void> => {
      const settled = await this.append(g, command.receivedAt, counts.acknowledged);
      counts.accepted += settled.accepted;
      counts.duplicates += settled.duplicates + g.repeated;
      counts.rejected += g.rejected;
      counts.lines += g.lines;
      counts.acknowledged = g.lastLine;
      if (settled.position && (best === null || settled.position.commit > best)) {
        best = settled.position.commit;
        position = { commit: settled.position.commit.toString(), prepare: settled.position.prepare.toString() };
      }
      await command.emit(progress({ ...counts, position }));
    };
    const rethrow = (err: unknown): never => {
      if (err instanceof CairnError && err.code === ERROR_CODES.UNAVAILABLE) {
        const e = new CairnError(err.code, err.message, { ...err.details, ...progress({ ...counts, position }) });
        (e as { cause?: unknown }).cause = (err as { cause?: unknown }).cause;
        throw e;
      }
      throw err;
    };
    /** Starts appending `g` once the previous group is done; throws the previous group's failure. */
    const handOff = async (g: Group): Promise<void> => {
      if (flushing) await flushing;
      if (failure) rethrow(failure);
      flushing = flush(g).catch((err: unknown) => void (failure = err));
    };

    try {
      for await (const item of command.lines) {
        group.lines++;
        group.lastLine = item.line;
        if (item.tooLong) {
          group.rejected++;
          this.metrics.ingested.inc({ outcome: 'rejected' });
          await command.emit({ line: item.line, status: 'rejected', errors: [{ field: '', message: `the line has ${item.size} bytes; the limit is ${MAX_IMPORT_LINE_BYTES} bytes per event` }] });
        } else {
          const parsed = this.parseLine(item.bytes, command.receivedAt);
          if (!parsed.ok) {
            group.rejected++;
            this.metrics.ingested.inc({ outcome: 'rejected' });
            await command.emit({ line: item.line, status: 'rejected', ...(parsed.id !== undefined ? { id: parsed.id } : {}), errors: parsed.errors });
          } else if (group.seen.has(parsed.append.id)) {
            group.repeated++;
            this.metrics.ingested.inc({ outcome: 'duplicate' });
          } else {
            const size = item.bytes.length + METADATA_ALLOWANCE;
            if ((group.streamBytes.get(parsed.append.streamId) ?? 0) + size > IMPORT_STREAM_BYTES && group.candidates.length > 0) {
              // This line would take its stream's append past the limit: the group closes before it.
              group.lines--;
              group.lastLine = item.line - 1;
              await handOff(group);
              group = newGroup();
              group.lines++;
              group.lastLine = item.line;
            }
            group.seen.add(parsed.append.id);
            group.candidates.push({ line: item.line, append: { ...parsed.append, metadata } });
            group.bytes += size;
            group.streamBytes.set(parsed.append.streamId, (group.streamBytes.get(parsed.append.streamId) ?? 0) + size);
          }
        }
        if (group.lines >= groupLines || group.bytes >= IMPORT_GROUP_BYTES) {
          await handOff(group);
          group = newGroup();
        }
      }
      if (group.lines > 0) await handOff(group);
    } finally {
      // The request ended or broke off (client gone): let the group being appended settle first.
      if (flushing) await flushing;
    }
    if (failure) rethrow(failure);
    const reached = position as ImportSummary['position']; // assigned in the group callbacks
    if (reached !== null) {
      // Analytics reads and `cairn clv fit` default to waiting for the last import (?minPosition=lastImport).
      await recordImport(this.runtime.readStore.db, { importId: randomUUID(), finishedAt: new Date(), lines: counts.lines, accepted: counts.accepted, position: BigInt(reached.commit) }).catch((err: unknown) =>
        this.runtime.logger.warn({ err }, 'import: could not record the position it reached (analytics callers will not wait for it)'),
      );
    }
    return { ...counts, position };
  }

  /** One line: depth limit, JSON, the POST /v1/events contract, and an id. */
  private parseLine(bytes: Buffer, now: Date): { ok: true; append: Omit<EventToAppend, 'metadata'> } | { ok: false; errors: FieldError[]; id?: string } {
    if (jsonDepth(bytes, MAX_BODY_DEPTH) > MAX_BODY_DEPTH) return { ok: false, errors: [{ field: '', message: `the event nests objects and arrays deeper than ${MAX_BODY_DEPTH} levels` }] };
    let raw: unknown;
    try {
      raw = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      return { ok: false, errors: [{ field: '', message: `malformed JSON: ${(err as Error).message}` }] };
    }
    const parsed = parseEvent(raw, now);
    const missingId = raw !== null && typeof raw === 'object' && !Array.isArray(raw) && ((raw as { id?: unknown }).id === undefined || (raw as { id?: unknown }).id === null);
    const idError: FieldError = { field: 'id', message: 'id is required for an import: a re-sent import is deduplicated by id (a UUID per event, the same on every send)' };
    if (!parsed.ok) return { ok: false, errors: missingId ? [idError, ...parsed.errors] : parsed.errors, ...(parsed.id !== undefined ? { id: parsed.id } : {}) };
    if (missingId || parsed.input.id === undefined) return { ok: false, errors: [idError] };
    const emailIds = emailIdErrors(parsed.input, this.runtime.config.allowEmailIds === 'true');
    if (emailIds.length > 0) return { ok: false, errors: emailIds, id: parsed.input.id };
    return { ok: true, append: { id: parsed.input.id.toLowerCase(), streamId: streamFor(parsed.input), event: toStoredEvent(parsed.input) } };
  }

  /** Appends a group's new events; throws CAIRN.UNAVAILABLE naming `acknowledged` when a store fails. */
  private async append(g: Group, at: Date, acknowledged: number): Promise<{ accepted: number; duplicates: number; position: { commit: bigint; prepare: bigint } | null }> {
    if (g.candidates.length === 0) return { accepted: 0, duplicates: 0, position: null };
    const ids = g.candidates.map((c) => c.append.id);
    const unavailable = (component: 'eventStore' | 'readStore', message: string) =>
      new CairnError(ERROR_CODES.UNAVAILABLE, `${message}; lines after ${acknowledged} were not acknowledged: send them again (from line ${acknowledged + 1}) with the same ids (an id already stored is answered "duplicate", never stored twice)`, {
        component,
        acknowledged,
        resumeFromLine: acknowledged + 1,
      });
    let stored: Set<string>;
    try {
      await this.ledger.settled(ids);
      stored = await this.runtime.ingestIndex.find(ids);
    } catch (err) {
      const reason = storeUnavailableReason(err);
      if (reason === undefined) throw err;
      this.runtime.logger.warn({ err }, `import: read store unavailable (${reason}) on the duplicate check`);
      throw unavailable('readStore', `read store unavailable (${reason})`);
    }
    const fresh = stored.size === 0 ? g.candidates : g.candidates.filter((c) => !stored.has(c.append.id));
    const duplicates = g.candidates.length - fresh.length;
    let appends: EventToAppend[];
    try {
      // Personal values sealed with their person's data key (docs/privacy.md), kept in the read store.
      appends = await this.runtime.vault.seal(fresh.map((c) => c.append));
    } catch (err) {
      const reason = storeUnavailableReason(err);
      if (reason === undefined) throw err;
      this.runtime.logger.warn({ reason }, 'import: personal data keys unavailable');
      throw unavailable('readStore', `read store unavailable (${reason}) for the personal data keys`);
    }
    for (let i = 0; i < duplicates; i++) this.metrics.ingested.inc({ outcome: 'duplicate' });
    if (fresh.length === 0) return { accepted: 0, duplicates, position: null };
    const release = this.ledger.claim(fresh.map((c) => c.append.id));
    const started = process.hrtime.bigint();
    try {
      const outcomes = await this.runtime.events.appendEach(appends);
      const appended = new Set(outcomes.flatMap((o) => (o.ok ? o.ids : [])));
      await this.ledger.index(fresh.filter((c) => appended.has(c.append.id)).map((c) => ({ id: c.append.id, streamId: c.append.streamId })), at);
      const failed = outcomes.find((o) => !o.ok);
      if (failed && !failed.ok) {
        this.runtime.logger.warn({ cause: (failed.error as { cause?: unknown }).cause ?? failed.error.message, notAppended: fresh.length - appended.size }, 'import: append failed');
        throw unavailable('eventStore', 'event store unavailable');
      }
      this.metrics.appendSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
      this.metrics.ingested.inc({ outcome: 'accepted' }, fresh.length);
      let position: { commit: bigint; prepare: bigint } | null = null;
      for (const o of outcomes) if (o.ok && o.position && (!position || o.position.commit > position.commit)) position = o.position;
      return { accepted: fresh.length, duplicates, position };
    } finally {
      release();
    }
  }
}

function progress(c: ImportProgress): ImportProgress {
  return { acknowledged: c.acknowledged, accepted: c.accepted, duplicates: c.duplicates, rejected: c.rejected, position: c.position };
}
