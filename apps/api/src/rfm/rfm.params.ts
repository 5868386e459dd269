import { RFM_SEGMENTS, type RfmSegment } from '@cairn/domain';
import { badParam } from '../http-params';

export { parseCursor, parseLimit } from '../http-params';

export function parseRunId(value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^[0-9a-f-]{36}$/i.test(value)) throw badParam('runId', 'must be a run id returned by POST /v1/rfm/runs');
  return value.toLowerCase();
}

/** Accepts the slug (`cant_lose_them`) or the label's kebab form (`cant-lose-them`). */
export function parseSegment(value: unknown): RfmSegment {
  const slug = typeof value === 'string' ? value.toLowerCase().replace(/-/g, '_') : '';
  if (!(RFM_SEGMENTS as readonly string[]).includes(slug)) throw badParam('segment', `must be one of ${RFM_SEGMENTS.join(', ')}`);
  return slug as RfmSegment;
}

