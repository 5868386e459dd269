import { Module } from '@nestjs/common';
import { GetRfmDistributionHandler } from './get-rfm-distribution/get-rfm-distribution.handler';
import { GetRfmDistributionHttpController } from './get-rfm-distribution/get-rfm-distribution.http.controller';
import { GetRfmHistoryHandler } from './get-rfm-history/get-rfm-history.handler';
import { GetRfmHistoryHttpController } from './get-rfm-history/get-rfm-history.http.controller';
import { ListRfmSegmentCustomersHandler } from './list-rfm-segment-customers/list-rfm-segment-customers.handler';
import { ListRfmSegmentCustomersHttpController } from './list-rfm-segment-customers/list-rfm-segment-customers.http.controller';
import { RecomputeRfmHandler } from './recompute-rfm/recompute-rfm.handler';
import { RecomputeRfmHttpController } from './recompute-rfm/recompute-rfm.http.controller';
import { RfmScheduler } from './rfm.scheduler';

/** RFM: distribution, segment members, history, on-demand and daily recomputation. */
@Module({
  controllers: [GetRfmDistributionHttpController, GetRfmHistoryHttpController, RecomputeRfmHttpController, ListRfmSegmentCustomersHttpController],
  providers: [GetRfmDistributionHandler, GetRfmHistoryHandler, ListRfmSegmentCustomersHandler, RecomputeRfmHandler, RfmScheduler],
})
export class RfmModule {}
