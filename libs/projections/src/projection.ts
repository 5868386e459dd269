import type { Transaction } from 'kysely';
import type { RecordedCairnEvent } from '@cairn/domain';
import type { ReadModelSchema } from '@cairn/read-models';

/**
 * A projection turns a batch of events into read-model rows. It runs inside the projector's
 * transaction, which also stores the checkpoint: the rows and the checkpoint commit together.
 */
export interface Projection {
  readonly name: string;
  readonly version: number;
  applyBatch(trx: Transaction<ReadModelSchema>, events: readonly RecordedCairnEvent[]): Promise<void>;
}
