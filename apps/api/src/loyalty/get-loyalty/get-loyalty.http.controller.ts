import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { LoyaltySummary } from '@cairn/domain';
import { RequireScope } from '../../auth/auth.guard';
import { ReadAnswer } from '../../read-your-writes';
import { parseAsOf } from '../loyalty.reader';
import { GetLoyaltyQuery } from './get-loyalty.query';
import { ApiAnswer } from '../../openapi/openapi';

@ApiTags('loyalty')
@ApiBearerAuth()
@Controller('v1/loyalty')
export class GetLoyaltyHttpController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  @Get(':customerId')
  @RequireScope('read')
  @ApiOperation({ summary: "A customer's balances (pending / available), lifetime earned, tier, qualifying amount, progress to the next tier and tier kept until" })
  @ApiQuery({ name: 'asOf', required: false, description: 'ISO-8601 instant: the ledger as of then (default now); time passing needs no new events' })
  @ApiAnswer(200, 'LoyaltySummary')
  @ReadAnswer()
  get(
    @Param('customerId') customerId: string,
    @Query('asOf') asOf: unknown,
  ): Promise<LoyaltySummary> {
    return this.queries.execute(new GetLoyaltyQuery(customerId, parseAsOf(asOf)));
  }
}
