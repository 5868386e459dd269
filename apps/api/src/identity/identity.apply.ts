import { BACKWARDS, END, StreamNotFoundError } from '@eventstore/db-client';
import { IDENTITY_STREAM } from '@cairn/domain';
import type { CairnRuntime } from '../runtime';

/**
 * Admin identity commands are events in `identity-merges`, folded by the profile projection in log
 * order like every other event. A command answers once the projections have reached its position
 * (bounded by the read wait), so a merge is visible when the command returns.
 */
export async function awaitApplied(runtime: CairnRuntime, position: bigint | undefined): Promise<boolean> {
  if (position === undefined) return true;
  const reached = await runtime.projections.waitFor(position, runtime.config.readWaitMs);
  if (!reached) runtime.logger.warn({ position: position.toString() }, 'identity command recorded; the projections have not applied it yet');
  return reached;
}

/** Waits until the last identity command in the log is applied (so one just made elsewhere is seen). */
export async function awaitIdentityLog(runtime: CairnRuntime): Promise<void> {
  try {
    for await (const r of runtime.events.client.readStream(IDENTITY_STREAM, { direction: BACKWARDS, fromRevision: END, maxCount: 1 })) {
      await awaitApplied(runtime, r.event?.position?.commit);
    }
  } catch (err) {
    if (!(err instanceof StreamNotFoundError)) throw err;
  }
}
