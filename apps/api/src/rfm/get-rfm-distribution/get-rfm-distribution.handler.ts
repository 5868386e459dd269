import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { rfmDistribution, type RfmDistribution } from '@cairn/projections';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { GetRfmDistributionQuery } from './get-rfm-distribution.query';

@QueryHandler(GetRfmDistributionQuery)
export class GetRfmDistributionHandler implements IQueryHandler<GetRfmDistributionQuery, RfmDistribution> {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  execute(q: GetRfmDistributionQuery): Promise<RfmDistribution> {
    return rfmDistribution(this.runtime.readStore.db, q.runId);
  }
}
