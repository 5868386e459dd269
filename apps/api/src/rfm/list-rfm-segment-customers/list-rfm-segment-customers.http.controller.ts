import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../../auth/auth.guard';
import { parseCursor, parseLimit, parseRunId, parseSegment } from '../rfm.params';
import { ListRfmSegmentCustomersQuery, type RfmSegmentPage } from './list-rfm-segment-customers.query';
import { ApiAnswer } from '../../openapi/openapi';
import { ReadAnswer } from '../../read-your-writes';

@ApiTags('rfm')
@ApiBearerAuth()
@Controller('v1/rfm')
export class ListRfmSegmentCustomersHttpController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  @Get(':segment/customers')
  @RequireScope('read')
  @ApiOperation({ summary: "Customers of a named RFM segment (champions, loyal_customers, …, cant_lose_them, hibernating), by customer id" })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'limit', required: false, description: '1–1000, default 100' })
  @ApiQuery({ name: 'runId', required: false })
  @ApiAnswer(200, 'RfmSegmentPage')
  @ReadAnswer()
  list(@Param('segment') segment: string, @Query('cursor') cursor: unknown, @Query('limit') limit: unknown, @Query('runId') runId: unknown): Promise<RfmSegmentPage> {
    return this.queries.execute(new ListRfmSegmentCustomersQuery(parseSegment(segment), parseCursor(cursor), parseLimit(limit), parseRunId(runId)));
  }
}
