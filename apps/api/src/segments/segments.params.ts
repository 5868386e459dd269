import { CairnError, ERROR_CODES } from '@cairn/domain';

const bad = (field: string, message: string) => new CairnError(ERROR_CODES.VALIDATION, `${field} ${message}`, { fields: [{ field, message }] });

export function parseSegmentId(value: unknown): string {
  if (typeof value !== 'string' || !/^[0-9a-f-]{36}$/i.test(value)) throw bad('id', 'must be a segment id returned by POST /v1/segments');
  return value.toLowerCase();
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
