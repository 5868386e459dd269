import { evolveProfile, type Profile, type ProfileRules, type RecordedCairnEvent } from '@cairn/domain';
import { loadProfiles, saveProfiles } from '@cairn/read-models';
import type { Projection } from './projection';

/** Profiles v1: folds each customer's events with the pure `evolveProfile`. */
export function profileProjection(rules: ProfileRules): Projection {
  return {
    name: 'profiles',
    version: 1,
    async applyBatch(trx, events: readonly RecordedCairnEvent[]) {
      const ids = new Set<string>();
      for (const e of events) if (e.data.customerId !== undefined) ids.add(e.data.customerId);
      if (ids.size === 0) return;
      const profiles = await loadProfiles(trx, [...ids]);
      const changed = new Map<string, Profile>();
      for (const e of events) {
        const id = e.data.customerId;
        if (id === undefined) continue;
        const next = evolveProfile(changed.get(id) ?? profiles.get(id), id, e, rules);
        changed.set(id, next);
      }
      await saveProfiles(trx, [...changed.values()]);
    },
  };
}
