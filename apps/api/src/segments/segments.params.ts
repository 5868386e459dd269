import { badParam } from '../http-params';

export { parseCursor, parseLimit } from '../http-params';

export function parseSegmentId(value: unknown): string {
  if (typeof value !== 'string' || !/^[0-9a-f-]{36}$/i.test(value)) throw badParam('id', 'must be a segment id returned by POST /v1/segments');
  return value.toLowerCase();
}

