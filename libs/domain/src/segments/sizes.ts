/**
 * A segment's size over time from its membership history (the `cairn.segment.entered.v1` /
 * `exited.v1` log): per calendar period (UTC), the entries, the exits and the size at the period's
 * end. Pure: the changes and the instant to end at are passed in.
 */
import { CairnError, ERROR_CODES } from '../errors';

export type SizePeriod = 'day' | 'week' | 'month';
export const SIZE_PERIODS: readonly SizePeriod[] = ['day', 'week', 'month'];

export interface MembershipChange {
  readonly kind: 'entered' | 'exited';
  readonly customerId: string;
  /** ISO instant of the change. */
  readonly at: string;
}

export interface SizePoint {
  /** `2026-11-28` (day), `2026-11-23` (week: its Monday), `2026-11` (month). */
  readonly period: string;
  /** First instant of the period (UTC, inclusive). */
  readonly start: string;
  readonly entries: number;
  readonly exits: number;
  /** Members at the end of the period (or at `until`, for the period holding it). */
  readonly size: number;
}

export interface SizeSeries {
  readonly period: SizePeriod;
  readonly points: SizePoint[];
}

const DAY = 86_400_000;

/** The first instant (ms, UTC) of the period holding `ms`. */
export function periodStart(ms: number, period: SizePeriod): number {
  const d = new Date(ms);
  if (period === 'month') return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  if (period === 'day') return day;
  return day - ((d.getUTCDay() + 6) % 7) * DAY; // Monday
}

function nextStart(ms: number, period: SizePeriod): number {
  if (period === 'day') return ms + DAY;
  if (period === 'week') return ms + 7 * DAY;
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

function label(ms: number, period: SizePeriod): string {
  const iso = new Date(ms).toISOString();
  return period === 'month' ? iso.slice(0, 7) : iso.slice(0, 10);
}

/**
 * Buckets the changes by period from `from` (default: the first change's period) through the period
 * holding `until`. Periods without a change are listed too (size carried over); changes before
 * `from` count in the starting size, changes after `until` are left out. More than `maxPoints`
 * periods is a 400 naming `period` (ask a coarser one or a later `from`).
 */
export function segmentSizes(changes: readonly MembershipChange[], opts: { period: SizePeriod; until: string; from?: string; maxPoints?: number }): SizeSeries {
  const { period } = opts;
  const until = Date.parse(opts.until);
  const sorted = changes
    .map((c) => ({ c, ms: Date.parse(c.at) }))
    .filter((x) => Number.isFinite(x.ms) && x.ms <= until)
    .sort((a, b) => a.ms - b.ms);
  const first = opts.from !== undefined ? Date.parse(opts.from) : sorted[0]?.ms;
  if (first === undefined || first > until) return { period, points: [] };
  const startMs = periodStart(first, period);
  const lastMs = periodStart(until, period);
  const max = opts.maxPoints ?? 1000;
  let count = 0;
  for (let t = startMs; t <= lastMs; t = nextStart(t, period)) {
    if (++count > max) {
      throw new CairnError(ERROR_CODES.VALIDATION, `more than ${max} ${period}s from ${label(startMs, period)} to ${label(lastMs, period)}: ask a coarser period or a later from`, {
        fields: [{ field: 'period', message: `more than ${max} periods; use week or month, or a later from` }],
      });
    }
  }
  let size = 0;
  let i = 0;
  for (; i < sorted.length && sorted[i]!.ms < startMs; i++) size += sorted[i]!.c.kind === 'entered' ? 1 : -1;
  const points: SizePoint[] = [];
  for (let t = startMs; t <= lastMs; t = nextStart(t, period)) {
    const end = nextStart(t, period);
    let entries = 0;
    let exits = 0;
    for (; i < sorted.length && sorted[i]!.ms < end; i++) {
      if (sorted[i]!.c.kind === 'entered') entries++;
      else exits++;
    }
    size += entries - exits;
    points.push({ period: label(t, period), start: new Date(t).toISOString(), entries, exits, size });
  }
  return { period, points };
}
