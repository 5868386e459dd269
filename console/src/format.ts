/**
 * Pure formatting of the console's numbers. One fixed locale (en-US) and UTC, so a number reads the
 * same in every browser and in the tests that compare the page with the API's answer.
 */
const LOCALE = 'en-US';
export const NONE = '—';

const counts = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 });
const moneyFormats = new Map<string, Intl.NumberFormat>();

/** 2357 → "2,357". */
export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? NONE : counts.format(n);
}

/** Integer minor units → "$1,234.56" (the currency's own decimals). */
export function formatMoney(minor: number | null | undefined, currency: string): string {
  if (minor === null || minor === undefined || !Number.isFinite(minor)) return NONE;
  let f = moneyFormats.get(currency);
  if (!f) {
    f = new Intl.NumberFormat(LOCALE, { style: 'currency', currency });
    moneyFormats.set(currency, f);
  }
  const digits = f.resolvedOptions().maximumFractionDigits ?? 2;
  return f.format(minor / 10 ** digits);
}

/** 0.22146 → "22.1%" (digits after the point). */
export function formatPercent(rate: number | null | undefined, digits = 1): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return NONE;
  return `${(rate * 100).toFixed(digits)}%`;
}

/** A plain decimal: 1.386084 → "1.39". */
export function formatDecimal(n: number | null | undefined, digits = 2): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return NONE;
  return n.toLocaleString(LOCALE, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** "1997-01-01T12:00:00.000Z" → "1997-01-01 12:00 UTC". */
export function formatInstant(iso: string | null | undefined): string {
  if (!iso) return NONE;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export type Direction = 'up' | 'down' | 'flat' | 'none';

/** Change of a figure against the previous period: "+12.5%" (relative), or none when it cannot be told. */
export function formatChange(current: number | null | undefined, previous: number | null | undefined): { text: string; direction: Direction } {
  if (current === null || current === undefined || previous === null || previous === undefined || !Number.isFinite(current) || !Number.isFinite(previous)) return { text: NONE, direction: 'none' };
  if (previous === 0) return current === 0 ? { text: '±0%', direction: 'flat' } : { text: 'new', direction: current > 0 ? 'up' : 'down' };
  const change = (current - previous) / Math.abs(previous);
  if (Math.abs(change) < 0.0005) return { text: '±0%', direction: 'flat' };
  return { text: `${change > 0 ? '+' : '−'}${Math.abs(change * 100).toFixed(1)}%`, direction: change > 0 ? 'up' : 'down' };
}

/** How far the read models are behind the log: "up to date", "12 events (3 s) behind". */
export function formatLag(lag: { events: number; capped?: boolean; seconds: number | null } | null | undefined): string {
  if (!lag) return NONE;
  if (lag.events === 0) return 'up to date';
  const events = `${lag.capped ? '≥ ' : ''}${formatCount(lag.events)} event${lag.events === 1 ? '' : 's'}`;
  return lag.seconds === null ? `${events} behind` : `${events} (${formatCount(Math.round(lag.seconds))} s) behind`;
}

const DAY_MS = 86_400_000;

/** 'YYYY-MM-DD' ± days. */
export function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Days from `from` to `to`, both included. */
export function windowDays(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS) + 1;
}

/** The window of the same length just before [from, to]. */
export function previousWindow(from: string, to: string): { from: string; to: string } {
  const n = windowDays(from, to);
  return { from: addDays(from, -n), to: addDays(from, -1) };
}

/** [from, to] cut into `parts` consecutive windows (the last takes the remainder), for trend lines. */
export function splitWindow(from: string, to: string, parts: number): { from: string; to: string }[] {
  const n = windowDays(from, to);
  const k = Math.max(1, Math.min(parts, n));
  const size = Math.floor(n / k);
  const out: { from: string; to: string }[] = [];
  for (let i = 0; i < k; i++) {
    const start = addDays(from, i * size);
    out.push({ from: start, to: i === k - 1 ? to : addDays(start, size - 1) });
  }
  return out;
}

/** Integer minor units → a short money label for chart axes: "$731", "$1.5K". */
export function formatMoneyCompact(minor: number, currency: string): string {
  const digits = new Intl.NumberFormat(LOCALE, { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  return new Intl.NumberFormat(LOCALE, { style: 'currency', currency, notation: 'compact', minimumFractionDigits: 0, maximumFractionDigits: 1 }).format(minor / 10 ** digits);
}
