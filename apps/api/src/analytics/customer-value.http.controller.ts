import { Controller, Get, Headers, Inject, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { RequireScope } from '../auth/auth.guard';
import { ReadAnswer } from '../read-your-writes';
import { RUNTIME, type CairnRuntime } from '../runtime';
import { AnalyticsReader } from './analytics.reader';
import { toCsv, wantsCsv } from './analytics.params';
import { ApiClvQuery, clvParams } from './metrics.http.controller';
import { ApiAnswer } from '../openapi/openapi';

/** `GET /v1/customers/:id/value` — a route of its own: `:id` never spans a `/`, so GET /v1/customers/:id does not catch it. */
@ApiTags('analytics')
@ApiBearerAuth()
@Controller('v1/customers')
export class CustomerValueHttpController {
  constructor(
    @Inject(AnalyticsReader) private readonly reader: AnalyticsReader,
    @Inject(RUNTIME) private readonly runtime: CairnRuntime,
  ) {}

  @Get(':id/value')
  @RequireScope('read')
  @ApiOperation({ summary: "A customer's historic value (net revenue to date) and predicted value (P(alive), churn risk, expected purchases and spend, CLV)" })
  @ApiAnswer(200, 'CustomerValue', { csv: true })
  @ReadAnswer()
  @ApiClvQuery()
  async value(@Param('id') id: string, @Query() q: Record<string, unknown>, @Headers('accept') accept: string | undefined, @Res({ passthrough: true }) res: Response) {
    const p = clvParams(q, this.runtime.config.timezone);
    const v = await this.reader.customer(id, p);
    if (wantsCsv(accept)) {
      res.type('text/csv');
      const row: Record<string, unknown> = { customerId: v.customerId, currency: v.currency, ...v.historic, ...(v.predicted ?? {}) };
      return toCsv(Object.keys(row), [Object.values(row)]);
    }
    return v;
  }
}
