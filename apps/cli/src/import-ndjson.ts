/**
 * `cairn import <file.ndjson | -> [--url URL] [--key KEY] [--from-line N] [--retries N]`: streams an
 * NDJSON file (one event of the POST /v1/events contract per line, each with an id) to
 * `POST /v1/events/import`, printing progress and each rejected line (line, field, reason).
 *
 * Resumable: the client keeps the lines sent but not yet acknowledged; when the connection drops or
 * the server answers 503 (or ends its stream with CAIRN.UNAVAILABLE) it waits (exponential backoff,
 * at least Retry-After) and sends again from the line after the last acknowledged one, for files and
 * for stdin alike. Re-sending is harmless anyway: ids already in the log answer `duplicate`.
 * `--from-line N` starts at line N of the file (to resume by hand after the client itself died:
 * the last `acknowledged` it printed + 1).
 */
import { createReadStream } from 'fs';
import { request as httpRequest, type IncomingMessage } from 'http';
import { request as httpsRequest } from 'https';
import { MAX_IMPORT_LINE_BYTES } from '../../api/src/ingest/import-events/import-events.handler';
import { ndjsonLines, type NdjsonLine } from '../../api/src/ingest/import-events/ndjson-lines';
import type { Connection } from './ops-commands';

export interface RejectedLine {
  readonly line: number;
  readonly id?: string;
  readonly errors: readonly { field: string; message: string }[];
}

export interface NdjsonImportResult {
  /** Non-blank lines settled: accepted + duplicates + rejected. */
  lines: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  /** Last line of the file up to which every line is settled. */
  acknowledged: number;
  /** Highest commit position reached (pass as minPosition to read your writes). */
  position: string | null;
  /** Requests sent (1 when nothing had to be resent). */
  attempts: number;
}

export interface NdjsonImportOptions {
  readonly url: string;
  readonly key: string;
  /** First line of the source to send (1-based); earlier lines are skipped. */
  readonly fromLine?: number;
  /** Failed attempts in a row (without progress) before giving up. Default 8. */
  readonly retries?: number;
  /** First backoff delay; doubles per failed attempt in a row, at most maxBackoffMs. */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly onProgress?: (p: NdjsonImportResult) => void;
  readonly onRejected?: (r: RejectedLine) => void;
  /** A failed attempt that will be retried: why, and in how many ms. */
  readonly onRetry?: (reason: string, delayMs: number, fromLine: number) => void;
}

type Attempt =
  | { kind: 'done' }
  | { kind: 'retry'; reason: string; retryAfterMs: number }
  | { kind: 'fatal'; reason: string };

/** What a failed attempt says; `resumeFromLine` is where to start again, by hand. */
export class ImportFailed extends Error {
  constructor(
    message: string,
    readonly result: NdjsonImportResult,
  ) {
    super(`${message} (lines up to ${result.acknowledged} are settled; resume with --from-line ${result.acknowledged + 1})`);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Imports NDJSON lines from `source` through POST /v1/events/import, resuming after failures. */
export async function importNdjson(source: AsyncIterable<Buffer | string> | Iterable<Buffer | string>, opts: NdjsonImportOptions): Promise<NdjsonImportResult> {
  const base = new URL('/v1/events/import', opts.url.replace(/\/+$/, '') + '/');
  const fromLine = opts.fromLine ?? 1;
  const result: NdjsonImportResult = { lines: 0, accepted: 0, duplicates: 0, rejected: 0, acknowledged: fromLine - 1, position: null, attempts: 0 };
  const lines = ndjsonLines(source, MAX_IMPORT_LINE_BYTES)[Symbol.asyncIterator]();
  /** Lines read from the source but not acknowledged yet: what a retry sends again. */
  let pending: Extract<NdjsonLine, { bytes: Buffer }>[] = [];
  let sourceDone = false;
  let printedThrough = fromLine - 1;
  let failures = 0;
  /** The body writer of the current attempt: the next attempt starts once it has stopped. */
  let pumping: Promise<void> = Promise.resolve();

  const reject = (r: RejectedLine) => {
    if (r.line <= printedThrough) return;
    printedThrough = r.line;
    opts.onRejected?.(r);
  };

  /** One request: `pending` first, then more of the source; numbers lines from `first`. */
  const attempt = (): Promise<Attempt> =>
    new Promise<Attempt>((resolve) => {
      result.attempts++;
      const first = result.acknowledged + 1;
      const counts = { accepted: 0, duplicates: 0, rejected: 0, lines: 0 };
      /** Counts of this attempt that are already added to `result`. */
      let settled = false;
      let finished = false;
      const finish = (a: Attempt) => {
        if (finished) return;
        finished = true;
        stop = true;
        if (a.kind !== 'done' && !req.destroyed) req.destroy();
        resolve(a);
      };
      const applyAck = (rec: { acknowledged: number; accepted: number; duplicates: number; rejected: number; position?: { commit: string } | null }) => {
        if (rec.position && (result.position === null || BigInt(rec.position.commit) > BigInt(result.position))) result.position = rec.position.commit;
        result.accepted += rec.accepted - counts.accepted;
        result.duplicates += rec.duplicates - counts.duplicates;
        result.rejected += rec.rejected - counts.rejected;
        result.lines += rec.accepted + rec.duplicates + rec.rejected - (counts.accepted + counts.duplicates + counts.rejected);
        counts.accepted = rec.accepted;
        counts.duplicates = rec.duplicates;
        counts.rejected = rec.rejected;
        const fileLine = first + rec.acknowledged - 1;
        if (fileLine > result.acknowledged) {
          result.acknowledged = fileLine;
          failures = 0;
          let drop = 0;
          while (drop < pending.length && pending[drop].line <= fileLine) drop++;
          if (drop > 0) pending = pending.slice(drop);
        }
        opts.onProgress?.({ ...result });
      };

      const send = base.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(base, {
        method: 'POST',
        headers: { authorization: `Bearer ${opts.key}`, 'content-type': 'application/x-ndjson' },
      });
      req.on('error', (err) => finish({ kind: 'retry', reason: `connection: ${err.message}`, retryAfterMs: 0 }));
      req.on('response', (res: IncomingMessage) => onResponse(res));

      // The body: pending lines again, then the source; a gap in the numbers (blank lines, a line
      // refused here as too long) is sent as empty lines so both sides number lines alike.
      let written = first - 1;
      let stop = false;
      const write = async (item: Extract<NdjsonLine, { bytes: Buffer }>): Promise<void> => {
        const gap = item.line - written - 1;
        written = item.line;
        const ok = req.write(gap > 0 ? Buffer.concat([Buffer.from('\n'.repeat(gap)), item.bytes, NEWLINE]) : Buffer.concat([item.bytes, NEWLINE]));
        if (!ok) await new Promise<void>((r) => {
          const done = () => (req.off('drain', done), req.off('close', done), r());
          req.on('drain', done);
          req.on('close', done);
        });
      };
      const pump = async () => {
        try {
          for (const item of pending) {
            if (stop || req.destroyed) return;
            await write(item);
          }
          while (!stop && !req.destroyed && !sourceDone) {
            const next = await lines.next();
            if (next.done) {
              sourceDone = true;
              break;
            }
            const item = next.value;
            if (item.line < fromLine) continue;
            if (item.tooLong) {
              // Refused here without sending it; counted once, whichever attempt reads it.
              result.rejected++;
              result.lines++;
              reject({ line: item.line, errors: [{ field: '', message: `the line has ${item.size} bytes; the limit is ${MAX_IMPORT_LINE_BYTES} bytes per event` }] });
              continue;
            }
            pending.push(item);
            if (stop || req.destroyed) return;
            await write(item);
          }
          if (!stop && !req.destroyed) req.end();
        } catch (err) {
          req.destroy(err as Error);
        }
      };
      pumping = pump();

      const onResponse = (res: IncomingMessage) => {
        let buf = '';
        let last: Record<string, unknown> | null = null;
        const ndjson = String(res.headers['content-type'] ?? '').startsWith('application/x-ndjson');
        const retryAfterMs = Math.max(0, Number(res.headers['retry-after'] ?? 0) * 1000 || 0);
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          if (!ndjson || res.statusCode !== 200) return;
          let nl: number;
          while ((nl = buf.indexOf('\n')) !== -1) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (!line.trim()) continue;
            let rec: Record<string, unknown>;
            try {
              rec = JSON.parse(line) as Record<string, unknown>;
            } catch {
              continue;
            }
            last = rec;
            if (rec.status === 'rejected') reject({ ...(rec as unknown as RejectedLine), line: first + (rec.line as number) - 1 });
            else if (typeof rec.acknowledged === 'number') applyAck(rec as never);
            else if (rec.summary) {
              applyAck(rec.summary as never);
              settled = true;
            } else if (rec.error) {
              const e = rec.error as { acknowledged?: number; accepted?: number; duplicates?: number; rejected?: number };
              if (typeof e.acknowledged === 'number') applyAck(e as never);
            }
          }
        });
        const ended = () => {
          stop = true;
          if (res.statusCode !== 200) {
            let message = `${res.statusCode}`;
            try {
              const e = (JSON.parse(buf) as { error?: { code?: string; message?: string; fields?: { field: string; message: string }[] } }).error;
              message = `${res.statusCode} ${e?.code ?? ''} ${e?.message ?? ''}${e?.fields?.map((f) => `; ${f.field}: ${f.message}`).join('') ?? ''}`.trim();
            } catch {
              message = `${res.statusCode} ${buf.slice(0, 300)}`.trim();
            }
            const retryable = res.statusCode === 503 || res.statusCode === 502 || res.statusCode === 504;
            return finish(retryable ? { kind: 'retry', reason: message, retryAfterMs } : { kind: 'fatal', reason: message });
          }
          if (settled) return finish({ kind: 'done' });
          const error = (last as { error?: { code?: string; message?: string; status?: number; retryAfterSeconds?: number } } | null)?.error;
          if (error) {
            const reason = `${error.code ?? ''} ${error.message ?? ''}`.trim();
            return finish(error.status === 503 ? { kind: 'retry', reason, retryAfterMs: (error.retryAfterSeconds ?? 0) * 1000 } : { kind: 'fatal', reason });
          }
          finish({ kind: 'retry', reason: 'the connection closed before the import was complete', retryAfterMs: 0 });
        };
        res.on('end', ended);
        res.on('aborted', ended);
        res.on('error', ended);
        res.on('close', ended);
      };
    }).then(async (a) => {
      await pumping;
      return a;
    });

  for (;;) {
    const outcome = await attempt();
    if (outcome.kind === 'done') return result;
    if (outcome.kind === 'fatal') throw new ImportFailed(`import refused: ${outcome.reason}`, { ...result });
    failures++;
    if (failures > (opts.retries ?? 8)) throw new ImportFailed(`import failed ${failures} times in a row, last: ${outcome.reason}`, { ...result });
    const delay = Math.max(outcome.retryAfterMs, Math.min(opts.maxBackoffMs ?? 30_000, (opts.backoffMs ?? 500) * 2 ** (failures - 1)));
    opts.onRetry?.(outcome.reason, delay, result.acknowledged + 1);
    await sleep(delay);
  }
}

const NEWLINE = Buffer.from('\n');

/** What `cairn import` says on stderr about the log position it reached (the JSON summary has it too). */
export function positionNote(position: string | null): string {
  return position === null
    ? 'nothing appended (every line a duplicate or rejected): no new log position\n'
    : `reached log position ${position}: cairn clv fit waits for it by default (--min-position ${position}; reads: ?minPosition=${position})\n`;
}

/** `cairn import <file | ->` (options parsed in main.ts): the key needs the import (or admin) scope. */
export async function importNdjsonCommand(
  file: string,
  opts: { fromLine: number; retries: number },
  conn: Connection,
  io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream & { isTTY?: boolean } } = { out: process.stdout, err: process.stderr },
): Promise<void> {
  const { url, key } = conn;
  const { fromLine, retries } = opts;
  const source = file === '-' ? process.stdin : createReadStream(file);
  const tty = io.err.isTTY === true;
  let lastShown = 0;
  const result = await importNdjson(source as AsyncIterable<Buffer>, {
    url,
    key,
    fromLine,
    retries,
    onProgress: (p) => {
      if (!tty && Date.now() - lastShown < 1000) return;
      lastShown = Date.now();
      const line = `acknowledged through line ${p.acknowledged}: ${p.accepted} accepted, ${p.duplicates} duplicates, ${p.rejected} rejected`;
      io.err.write(tty ? `\r${line}` : `${line}\n`);
    },
    onRejected: (r) => {
      for (const e of r.errors) io.err.write(`${tty ? '\r\x1b[K' : ''}line ${r.line}: ${e.field || '(line)'}: ${e.message}\n`);
    },
    onRetry: (reason, delay, from) => io.err.write(`${tty ? '\n' : ''}${reason}; resending from line ${from} in ${(delay / 1000).toFixed(1)} s\n`),
  });
  if (tty) io.err.write('\n');
  io.err.write(positionNote(result.position));
  io.out.write(`${JSON.stringify(result)}\n`);
  if (result.rejected > 0) process.exitCode = 1;
}
