/**
 * Query-parameter parsing for the analytics endpoints: every bad value is a 400 naming the parameter.
 */
import { CairnError, ERROR_CODES, isoToDay, isTimeZone, LocalCalendar } from '@cairn/domain';

export function bad(field: string, message: string): CairnError {
  return new CairnError(ERROR_CODES.VALIDATION, `${field} ${message}`, { fields: [{ field, message }] });
}

export function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined || value === '') return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) throw bad(field, `must be one of ${allowed.join(', ')}`);
  return value as T;
}

export function calendarParam(value: unknown, fallback: string): LocalCalendar {
  if (value === undefined || value === '') return new LocalCalendar(fallback);
  if (typeof value !== 'string' || !isTimeZone(value)) throw bad('tz', 'must be an IANA timezone such as Europe/Berlin');
  return new LocalCalendar(value);
}

/** 'YYYY-MM-DD' → local day number; default: today in the calendar's zone. */
export function dayParam(field: string, value: unknown, calendar: LocalCalendar, now = Date.now()): number {
  if (value === undefined || value === '') return calendar.day(now);
  const day = typeof value === 'string' ? isoToDay(value) : undefined;
  if (day === undefined) throw bad(field, 'must be a calendar date YYYY-MM-DD');
  return day;
}

export function numberParam(field: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n < min || n > max) throw bad(field, `must be a number from ${min} to ${max}`);
  return n;
}

/** The API's one CSV writer (formula-injection safe): libs/runtime/src/csv.ts. */
export { toCsv, wantsCsv } from '@cairn/runtime';
