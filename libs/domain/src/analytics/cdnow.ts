/**
 * The CDNOW transaction files (Fader, Hardie & Lee 2005; as shipped with `lifetimes`): whitespace
 * separated, master = customer_id date cds dollars (with a header line), sample = customer_id
 * id_in_master date cds dollars (no header). Dollar values become minor units by parsing the
 * decimal string, never through floating point.
 */

export interface CdnowRow {
  /** 1-based line number in the file (stable, used for deterministic ids). */
  readonly line: number;
  readonly customerId: string;
  /** 'YYYY-MM-DD'. */
  readonly date: string;
  readonly cds: number;
  readonly totalMinor: number;
  /** The raw line, trimmed (part of the deterministic event id). */
  readonly raw: string;
}

/** '29.33' → 2933, '0.00' → 0, '12' → 1200, '1.5' → 150; undefined when not a plain non-negative decimal. */
export function parseDollarsToMinor(s: string): number | undefined {
  const m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(s);
  if (!m) return undefined;
  const cents = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
  return Number.isSafeInteger(cents) ? cents : undefined;
}

export function parseCdnow(text: string): { rows: CdnowRow[]; errors: string[] } {
  const rows: CdnowRow[] = [];
  const errors: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (raw === '') continue;
    const f = raw.split(/\s+/);
    if (i === 0 && /customer/i.test(raw)) continue;
    if (f.length !== 4 && f.length !== 5) {
      errors.push(`line ${i + 1}: expected 4 or 5 columns, got ${f.length}`);
      continue;
    }
    const [customerId, date, cds, dollars] = f.length === 4 ? f : [f[0], f[2], f[3], f[4]];
    const d = /^(\d{4})(\d{2})(\d{2})$/.exec(date);
    const totalMinor = parseDollarsToMinor(dollars);
    const n = Number(cds);
    if (!d) errors.push(`line ${i + 1}: date '${date}' is not YYYYMMDD`);
    else if (totalMinor === undefined) errors.push(`line ${i + 1}: dollar value '${dollars}' is not a decimal amount`);
    else if (!Number.isInteger(n) || n < 0) errors.push(`line ${i + 1}: number of CDs '${cds}' is not a whole number`);
    else rows.push({ line: i + 1, customerId, date: `${d[1]}-${d[2]}-${d[3]}`, cds: n, totalMinor, raw });
  }
  return { rows, errors };
}
