/** Query/path parameter parsing shared by controllers: a bad value is a 400 naming the parameter. */
import { CairnError, ERROR_CODES } from '@cairn/domain';

export const badParam = (field: string, message: string) => new CairnError(ERROR_CODES.VALIDATION, `${field} ${message}`, { fields: [{ field, message }] });

export function parseLimit(value: unknown, max = 1000, fallback = 100): number {
  if (value === undefined || value === '') return fallback;
  if (typeof value !== 'string' || !/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) throw badParam('limit', `must be an integer from 1 to ${max}`);
  return Number(value);
}

export function parseCursor(value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw badParam('cursor', 'must be a string');
  return value;
}
