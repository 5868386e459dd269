import { Controller, Get, Inject, Param } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../../auth/auth.guard';
import { GetRfmHistoryQuery, type RfmHistory } from './get-rfm-history.query';
import { ApiAnswer } from '../../openapi/openapi';
import { ReadAnswer } from '../../read-your-writes';

@ApiTags('rfm')
@ApiBearerAuth()
@Controller('v1/rfm/history')
export class GetRfmHistoryHttpController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  @Get(':customerId')
  @RequireScope('read')
  @ApiOperation({ summary: "A customer's RFM scores and segment in every finished run, oldest first" })
  @ApiAnswer(200, 'RfmHistory')
  @ReadAnswer()
  get(@Param('customerId') customerId: string): Promise<RfmHistory> {
    return this.queries.execute(new GetRfmHistoryQuery(customerId));
  }
}
