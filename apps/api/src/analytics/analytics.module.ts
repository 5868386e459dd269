import { Module } from '@nestjs/common';
import { AnalyticsReader } from './analytics.reader';
import { CustomerValueHttpController } from './customer-value.http.controller';
import { MetricsHttpController } from './metrics.http.controller';

/** Analytics: cohort retention, KPIs, predicted CLV and per-customer value, all from the analytics read model. */
@Module({
  controllers: [MetricsHttpController, CustomerValueHttpController],
  providers: [AnalyticsReader],
})
export class AnalyticsModule {}
