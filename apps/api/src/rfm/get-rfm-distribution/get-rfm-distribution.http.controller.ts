import { Controller, Get, Inject, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
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
  @ApiOperation({ summary: 'RFM distribution: grid[r-1][f-1] customer counts and the named segments of the latest (or given) run' })
  @ApiQuery({ name: 'runId', required: false })
  @ApiAnswer(200, 'RfmDistribution')
  @ReadAnswer()
  get(@Query('runId') runId: unknown): Promise<RfmDistribution> {
    return this.queries.execute(new GetRfmDistributionQuery(parseRunId(runId)));
  }
}
