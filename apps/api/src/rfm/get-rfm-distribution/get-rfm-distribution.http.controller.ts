import { Controller, Get, Headers, Inject, Query, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { RFM_SEGMENT_LABELS, rfmSegment } from '@cairn/domain';
import { toCsv, wantsCsv } from '@cairn/runtime';
import type { RfmDistribution } from '@cairn/projections';
import { RequireScope } from '../../auth/auth.guard';
import { parseRunId } from '../rfm.params';
import { GetRfmDistributionQuery } from './get-rfm-distribution.query';
import { ApiAnswer } from '../../openapi/openapi';
import { ReadAnswer } from '../../read-your-writes';

@ApiTags('rfm')
@ApiBearerAuth()
@Controller('v1/rfm')
export class GetRfmDistributionHttpController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'RFM distribution: grid[r-1][f-1] customer counts and the named segments of the latest (or given) run; Accept: text/csv gives the 25 cells as r,f,segment,label,customers' })
  @ApiProduces('application/json', 'text/csv')
  @ApiQuery({ name: 'runId', required: false })
  @ApiAnswer(200, 'RfmDistribution', { csv: true })
  @ReadAnswer()
  async get(@Query('runId') runId: unknown, @Headers('accept') accept: string | undefined, @Res({ passthrough: true }) res: Response): Promise<RfmDistribution | string> {
    const d: RfmDistribution = await this.queries.execute(new GetRfmDistributionQuery(parseRunId(runId)));
    if (!wantsCsv(accept)) return d;
    res.type('text/csv');
    res.setHeader('Content-Disposition', `attachment; filename="rfm-${d.run.runId}.csv"`);
    const cells = [5, 4, 3, 2, 1].flatMap((r) => [1, 2, 3, 4, 5].map((f) => [r, f, rfmSegment(r, f), RFM_SEGMENT_LABELS[rfmSegment(r, f)], d.grid[r - 1][f - 1]]));
    return toCsv(['r', 'f', 'segment', 'label', 'customers'], cells);
  }
}
