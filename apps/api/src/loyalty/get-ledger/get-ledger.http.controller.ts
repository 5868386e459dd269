import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { LoyaltyLedgerView } from '@cairn/domain';
import { RequireScope } from '../../auth/auth.guard';
import { ReadAnswer } from '../../read-your-writes';
import { parseAsOf } from '../loyalty.reader';
import { GetLedgerQuery } from './get-ledger.query';
import { ApiAnswer } from '../../openapi/openapi';

@ApiTags('loyalty')
@ApiBearerAuth()
@Controller('v1/loyalty')
export class GetLedgerHttpController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  @Get(':customerId/ledger')
  @RequireScope('read')
  @ApiOperation({ summary: 'Every movement with its cause (event id) and rule version, tier changes, withheld rewards and corrections' })
  @ApiQuery({ name: 'asOf', required: false, description: 'ISO-8601 instant: the ledger as of then (default now); time passing needs no new events' })
  @ApiAnswer(200, 'LoyaltyLedger')
  @ReadAnswer()
  ledger(
    @Param('customerId') customerId: string,
    @Query('asOf') asOf: unknown,
  ): Promise<LoyaltyLedgerView> {
    return this.queries.execute(new GetLedgerQuery(customerId, parseAsOf(asOf)));
  }
}
