import { CairnError, ERROR_CODES, RFM_SEGMENTS, type RfmSegment } from '@cairn/domain';

const bad = (field: string, message: string) => new CairnError(ERROR_CODES.VALIDATION, `${field} ${message}`, { fields: [{ field, message }] });

export function parseRunId(value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^[0-9a-f-]{36}$/i.test(value)) throw bad('runId', 'must be a run id returned by POST /v1/rfm/runs');
  return value.toLowerCase();
}

/** Accepts the slug (`cant_lose_them`) or the label's kebab form (`cant-lose-them`). */
export function parseSegment(value: unknown): RfmSegment {
  const slug = typeof value === 'string' ? value.toLowerCase().replace(/-/g, '_') : '';
  if (!(RFM_SEGMENTS as readonly string[]).includes(slug)) throw bad('segment', `must be one of ${RFM_SEGMENTS.join(', ')}`);
  return slug as RfmSegment;
}

export function parseLimit(value: unknown, max = 1000, fallback = 100): number {
  if (value === undefined || value === '') return fallback;
  if (typeof value !== 'string' || !/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) throw bad('limit', `must be an integer from 1 to ${max}`);
  return Number(value);
}

export function parseCursor(value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw bad('cursor', 'must be a string');
  return value;
}
