/**
 * The one place specs touch the projection API: apply events to every registered projection, as
 * the projector would (today: `Projection.applyBatch(trx, events)` in one transaction per
 * projection). When that API changes, only this helper changes.
 */
import type { RecordedCairnEvent } from '@cairn/domain';
import { cairnProjections, type ProjectionRules } from '@cairn/projections';
import type { ReadStore } from '@cairn/read-models';

export const TEST_RULES: ProjectionRules = { currency: 'EUR', timezone: 'Europe/Berlin' };

/** Applies `events` (in log order) to every projection in `cairnProjections`; throws what a projection throws, naming it. */
export async function applyToEveryProjection(store: ReadStore, events: readonly RecordedCairnEvent[], rules: ProjectionRules = TEST_RULES): Promise<void> {
  for (const p of cairnProjections(rules)) {
    try {
      await store.transaction((trx) => p.applyBatch(trx, events));
    } catch (err) {
      throw new Error(`projection ${p.name} v${p.version} threw: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
}
