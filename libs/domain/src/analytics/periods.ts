/**
 * Calendar arithmetic in the shop's IANA timezone, with Intl only.
 *
 * A "day" is an integer: days since 1970-01-01 in the local calendar. Weeks are ISO weeks
 * (Monday first) and are indexed by the day number of their Monday; months by year × 12 + month.
 */

export type PeriodUnit = 'day' | 'week' | 'month';
export const PERIOD_UNITS: readonly PeriodUnit[] = ['day', 'week', 'month'];

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(tz, f);
  }
  return f;
}

/** Offset of the zone from UTC at an instant, in ms (Europe/Berlin in winter: +3,600,000). */
export function zoneOffsetMs(instantMs: number, tz: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(new Date(instantMs))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const local = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return local - Math.floor(instantMs / 1000) * 1000;
}

/**
 * Maps instants to local day numbers quickly: the offset is cached per 15-minute bucket (every
 * zone's transitions fall on quarter hours), so a million instants cost a few thousand Intl calls.
 */
export class LocalCalendar {
  private readonly cache = new Map<number, number>();
  constructor(readonly timezone: string) {
    if (!isTimeZone(timezone)) throw new RangeError(`unknown timezone '${timezone}'`);
  }

  offsetMs(instantMs: number): number {
    const bucket = Math.floor(instantMs / 900_000);
    let off = this.cache.get(bucket);
    if (off === undefined) {
      off = zoneOffsetMs(bucket * 900_000, this.timezone);
      this.cache.set(bucket, off);
    }
    return off;
  }

  /** Local calendar day of an instant. */
  day(instantMs: number): number {
    return Math.floor((instantMs + this.offsetMs(instantMs)) / DAY_MS);
  }

  /** The instant local midnight starts `day` (first instant whose local day is `day`). */
  startOfDay(day: number): number {
    const guess = day * DAY_MS;
    let t = guess - this.offsetMs(guess);
    t = guess - this.offsetMs(t);
    return t;
  }

  /** ISO-8601 with offset for local noon of a day, e.g. 1997-01-01T12:00:00-05:00. */
  localNoonIso(day: number): string {
    const wall = day * DAY_MS + 12 * 3_600_000;
    let t = wall - this.offsetMs(wall);
    t = wall - this.offsetMs(t);
    const off = this.offsetMs(t);
    return `${dayToIso(day)}T12:00:00${formatOffset(off)}`;
  }
}

function formatOffset(ms: number): string {
  if (ms === 0) return 'Z';
  const sign = ms < 0 ? '-' : '+';
  const m = Math.abs(ms) / 60_000;
  return `${sign}${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

/** 'YYYY-MM-DD' → day number; undefined when not a real calendar date. */
export function isoToDay(iso: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = Date.UTC(y, mo - 1, d);
  const back = new Date(t);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return undefined;
  return t / DAY_MS;
}

export function dayToIso(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** Index of the period holding a local day: the day itself, the Monday of its ISO week, or year×12+month. */
export function periodOf(day: number, unit: PeriodUnit): number {
  switch (unit) {
    case 'day':
      return day;
    case 'week':
      // 1970-01-01 was a Thursday: Monday-based weeks start at day ≡ 4 (mod 7).
      return day - ((((day + 3) % 7) + 7) % 7);
    case 'month': {
      // Civil-from-days (H. Hinnant), no Date object: this runs once per order.
      const z = day + 719468;
      const era = Math.floor(z / 146097);
      const doe = z - era * 146097;
      const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
      const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
      const mp = Math.floor((5 * doy + 2) / 153);
      const month = mp < 10 ? mp + 2 : mp - 10; // 0-based
      const year = yoe + era * 400 + (month <= 1 ? 1 : 0);
      return year * 12 + month;
    }
    default: {
      const never: never = unit;
      throw new RangeError(`unknown period unit ${String(never)}`);
    }
  }
}

/** The period k periods after p. */
export function addPeriods(p: number, k: number, unit: PeriodUnit): number {
  return unit === 'week' ? p + 7 * k : p + k;
}

/** Number of whole periods from a to b (b ≥ a gives ≥ 0). */
export function periodsBetween(a: number, b: number, unit: PeriodUnit): number {
  return unit === 'week' ? Math.round((b - a) / 7) : b - a;
}

/** First local day of a period. */
export function periodStartDay(p: number, unit: PeriodUnit): number {
  if (unit === 'month') return Date.UTC(Math.floor(p / 12), p % 12, 1) / DAY_MS;
  return p;
}

/** Label of a period: its first day, 'YYYY-MM-DD' (months: 'YYYY-MM'). */
export function periodLabel(p: number, unit: PeriodUnit): string {
  const iso = dayToIso(periodStartDay(p, unit));
  return unit === 'month' ? iso.slice(0, 7) : iso;
}
