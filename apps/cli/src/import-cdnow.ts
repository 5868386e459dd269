/**
 * `cairn import cdnow <file> [--url URL] [--key KEY] [--tz ZONE]`: sends the CDNOW transactions
 * through the bulk import path (POST /v1/events/import, one NDJSON stream, resumed after a dropped
 * connection or a 503 like `cairn import <file>`), idempotently:
 * event ids are deterministic (UUID v5-style, SHA-1 of customer id + line number + line content),
 * so a second run answers `duplicate` for every row and changes nothing.
 *
 * Each row becomes one purchase of customer `cdnow-<customer_id>`: orderId `cdnow-<customer_id>-<line>`,
 * occurredAt the date at local noon in --tz (default UTC), currency USD, totalMinor = dollar_value
 * parsed exactly as a decimal string, one item line (productId `cdnow-cds`, quantity 1,
 * unitPriceMinor = total) so the total is exact; number_of_cds is kept in `context.cds`.
 * 0.00 rows are valid purchases (free items).
 */
import { createHash } from 'crypto';
import { readFileSync } from 'fs';
import { isoToDay, LocalCalendar, parseCdnow, type CdnowRow } from '@cairn/domain';
import { importNdjson, positionNote } from './import-ndjson';
import type { MainIo } from './main';
import { progressReporter, type Connection } from './ops-commands';

/** Fixed namespace for CDNOW event ids (itself a random v4 UUID, never to change). */
const NAMESPACE = '5b0b7c1e-9a8e-4c1f-8d0e-6f3c2a9d4e71';

/** UUID v5 (RFC 4122 §4.3): SHA-1 of namespace bytes + name, version and variant bits set. */
export function uuidV5(name: string, namespace = NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const h = createHash('sha1').update(ns).update(name, 'utf8').digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function cdnowEvent(row: CdnowRow, calendar: LocalCalendar) {
  return {
    id: uuidV5(`cdnow:${row.customerId}:${row.line}:${row.raw}`),
    type: 'purchase',
    customerId: `cdnow-${row.customerId}`,
    occurredAt: calendar.localNoonIso(isoToDay(row.date)!),
    channel: 'web',
    orderId: `cdnow-${row.customerId}-${row.line}`,
    currency: 'USD',
    items: [{ productId: 'cdnow-cds', quantity: 1, unitPriceMinor: row.totalMinor }],
    totalMinor: row.totalMinor,
    context: { source: 'cdnow', cds: row.cds },
  };
}

export interface ImportSummary {
  rows: number;
  accepted: number;
  duplicate: number;
  rejected: number;
  /** Commit position of the last batch: pass it as minPosition to read your writes. */
  position: string | null;
  errors: string[];
}

export async function importCdnow(file: string, opts: { url: string; key: string; timezone?: string; onProgress?: (acknowledged: number, rows: number) => void }): Promise<ImportSummary> {
  const { rows, errors } = parseCdnow(readFileSync(file, 'utf8'));
  if (errors.length > 0) throw new Error(`${file}: ${errors.length} bad lines, first: ${errors[0]}`);
  const calendar = new LocalCalendar(opts.timezone ?? 'UTC');
  const summary: ImportSummary = { rows: rows.length, accepted: 0, duplicate: 0, rejected: 0, position: null, errors: [] };
  // NDJSON line i is row i: rejections name the row's line in the CDNOW file.
  async function* lines() {
    const CHUNK = 1000;
    for (let i = 0; i < rows.length; i += CHUNK) {
      yield Buffer.from(rows.slice(i, i + CHUNK).map((r) => `${JSON.stringify(cdnowEvent(r, calendar))}\n`).join(''));
    }
  }
  const result = await importNdjson(lines(), {
    url: opts.url,
    key: opts.key,
    onProgress: (p) => opts.onProgress?.(p.acknowledged, rows.length),
    onRejected: (r) => {
      if (summary.errors.length < 10) summary.errors.push(`line ${rows[r.line - 1]?.line ?? r.line}: ${JSON.stringify(r.errors)}`);
    },
  });
  summary.accepted = result.accepted;
  summary.duplicate = result.duplicates;
  summary.rejected = result.rejected;
  summary.position = result.position;
  return summary;
}

/** `cairn import cdnow <file>` (options parsed in main.ts): a progress bar on stderr, the summary on stdout. */
export async function importCdnowCommand(file: string, timezone: string, conn: Connection, io: Pick<MainIo, 'out' | 'err'>): Promise<void> {
  const bar = progressReporter({ out: io.err }, 'import cdnow', 'rows', 'rows/s');
  const started = Date.now();
  const summary = await importCdnow(file, {
    ...conn,
    timezone,
    onProgress: (done, total) => {
      const seconds = (Date.now() - started) / 1000;
      const rate = seconds > 0 ? Math.round(done / seconds) : 0;
      bar.update({ done, total, rate, etaSeconds: rate > 0 ? (total - done) / rate : null });
    },
  });
  bar.stop();
  io.err.write(positionNote(summary.position));
  io.out.write(`${JSON.stringify(summary)}\n`);
  if (summary.rejected > 0) process.exitCode = 1;
}
