import type { RecordedCairnEvent } from '@cairn/domain';
import type { IdentityLog } from './identity/identity-log';
import { syncIdentity, type IdentityRules } from './identity/identity-sync';
import type { Projection } from './projection';

export interface ProfileProjectionDeps {
  /** The admin identity log (merges/unmerges); without it, only automatic linking applies. */
  readonly identityLog?: IdentityLog;
}

/**
 * Profiles v2: each source (customer or visitor stream) folded with the pure `evolveProfile`, and
 * one profile per person (identity-resolved: linked visitors and merged customers combined).
 */
export function profileProjection(rules: IdentityRules, deps: ProfileProjectionDeps = {}): Projection {
  return {
    name: 'profiles',
    // Still 1: rows written by the identity-less fold are read back compatibly (a customer without
    // a source row is seeded from its profiles row), so no rebuild is needed.
    version: 1,
    async applyBatch(trx, events: readonly RecordedCairnEvent[]) {
      await syncIdentity(trx, events, rules, deps.identityLog);
    },
  };
}
