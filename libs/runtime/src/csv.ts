/**
 * The one CSV writer of the API (csv-stringify underneath: RFC 4180 quoting, kept by the node-csv
 * project). Every text cell that a spreadsheet would run as a formula (starting with `=`, `+`, `-`,
 * `@`, a tab or a carriage return) is neutralised with a leading `'`, as OWASP recommends; numbers
 * stay numbers (a negative amount is not text), null and undefined are empty cells.
 */
import { stringify } from 'csv-stringify/sync';

const FORMULA_START = /^[=+\-@\t\r]/;

/** A text cell made safe to open in a spreadsheet. */
export function neutraliseCell(s: string): string {
  return FORMULA_START.test(s) ? `'${s}` : s;
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof Date) return v.toISOString();
  return neutraliseCell(typeof v === 'object' ? JSON.stringify(v) : String(v));
}

export interface CsvOptions {
  /** Line ending: '\r\n' (RFC 4180, the default) or '\n'. */
  readonly eol?: '\r\n' | '\n';
  /** Quote cells with leading or trailing spaces too (so a reader that trims keeps them). */
  readonly quoteSpaces?: boolean;
  /** Leave the header out (a later chunk of a streamed file). */
  readonly noHeader?: boolean;
}

/** The header row, then one row per record, each ending in `eol`. */
export function toCsv(header: readonly string[], rows: readonly (readonly unknown[])[], opts: CsvOptions = {}): string {
  const records = rows.map((r) => r.map(cellText));
  if (!opts.noHeader) records.unshift(header.map(cellText));
  return stringify(records, { record_delimiter: opts.eol === '\n' ? 'unix' : 'windows', quoted_match: opts.quoteSpaces ? /^\s|\s$/ : undefined });
}

/** Whether an Accept header asks for CSV. */
export function wantsCsv(accept: string | undefined): boolean {
  return typeof accept === 'string' && /\btext\/csv\b/i.test(accept);
}
