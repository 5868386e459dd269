import { Query } from '@nestjs/cqrs';
import type { RfmDistribution } from '@cairn/projections';

/** The R×F grid and segment sizes of a run (default: the latest finished one). */
export class GetRfmDistributionQuery extends Query<RfmDistribution> {
  constructor(readonly runId: string | undefined) {
    super();
  }
}
