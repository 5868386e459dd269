import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Explanation } from '@cairn/domain';
import { RequireScope } from '../../auth/auth.guard';
import { ReadAnswer } from '../../read-your-writes';
import { parseAsOf } from '../loyalty.reader';
import { ExplainQuery } from './explain.query';
import { ApiAnswer } from '../../openapi/openapi';

@ApiTags('loyalty')
@ApiBearerAuth()
@Controller('v1/loyalty')
export class ExplainHttpController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  @Get(':customerId/explain')
  @RequireScope('read')
  @ApiOperation({ summary: 'Why this tier and this balance: each contributing event and rule' })
  @ApiQuery({ name: 'asOf', required: false, description: 'ISO-8601 instant: the ledger as of then (default now); time passing needs no new events' })
  @ApiAnswer(200, 'LoyaltyExplanation')
  @ReadAnswer()
  explain(
    @Param('customerId') customerId: string,
    @Query('asOf') asOf: unknown,
  ): Promise<Explanation> {
    return this.queries.execute(new ExplainQuery(customerId, parseAsOf(asOf)));
  }
}
