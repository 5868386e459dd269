import { eventStoreIdentityLog, syncIdentity } from '@cairn/projections';
import type { CairnRuntime } from '../runtime';

/**
 * Applies admin identity events now, so a merge is visible when the command answers (the profile
 * projection applies the same log on its next batch; whichever runs first does the work, under
 * the identity lock).
 */
export async function applyIdentityNow(runtime: CairnRuntime): Promise<void> {
  const rules = { currency: runtime.config.currency, sharedDeviceLimit: runtime.config.identitySharedDeviceLimit };
  await runtime.readStore.transaction((trx) => syncIdentity(trx, [], rules, eventStoreIdentityLog(runtime.events, { minIntervalMs: 0 })));
}
