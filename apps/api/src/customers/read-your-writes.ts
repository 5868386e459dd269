import { CairnError, ERROR_CODES } from '@cairn/domain';
import type { CairnRuntime } from '../runtime';

/** Parses `?minPosition=` (a commit position from an ingest response); 400 naming it when bad. */
export function parseMinPosition(value: unknown): bigint | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^\d{1,20}$/.test(value)) {
    throw new CairnError(ERROR_CODES.VALIDATION, 'minPosition must be a log position (a non-negative integer)', {
      fields: [{ field: 'minPosition', message: 'must be a non-negative integer, as returned by POST /v1/events' }],
    });
  }
  return BigInt(value);
}

/**
 * Read-your-writes: waits (bounded by CAIRN_READ_WAIT_MS) until the projections have folded the log
 * up to `minPosition`. Returns whether the read is stale; throws 409 CAIRN.STALE_READ unless the
 * caller accepts a stale answer.
 */
export async function awaitPosition(runtime: CairnRuntime, minPosition: bigint | undefined, allowStale: boolean): Promise<boolean> {
  if (minPosition === undefined) return false;
  const reached = await runtime.projections.waitFor(minPosition, runtime.config.readWaitMs);
  if (reached) return false;
  if (allowStale) return true;
  throw new CairnError(ERROR_CODES.STALE_READ, `the read models have not reached position ${minPosition} within ${runtime.config.readWaitMs} ms; retry, or pass allowStale=true`, {
    minPosition: minPosition.toString(),
  });
}
