/**
 * The one place specs touch the projection API: apply events to every registered projection, as
 * the engine folds them (each projection's fold state, its rows written in one transaction per
 * projection). A fold or a write that throws is thrown here (the engine would park the event).
 */
import type { RecordedCairnEvent } from '@cairn/domain';
import { ProjectionHarness, cairnProjections, type ProjectionRules } from '@cairn/projections';
import type { ReadStore } from '@cairn/read-models';

export const TEST_RULES: ProjectionRules = { currency: 'EUR', timezone: 'Europe/Berlin' };

/** Applies `events` (in log order) to every projection in `cairnProjections`; throws what a projection throws, naming it. */
export async function applyToEveryProjection(store: ReadStore, events: readonly RecordedCairnEvent[], rules: ProjectionRules = TEST_RULES): Promise<void> {
  for (const p of cairnProjections(rules)) {
    try {
      await new ProjectionHarness(store, p).apply(events);
    } catch (err) {
      throw new Error(`projection ${p.name} v${p.version} threw: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
}
