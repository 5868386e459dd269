import { Controller, Get, Inject, Param, Query, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { Explanation } from '@cairn/domain';
import { RequireScope } from '../../auth/auth.guard';
import { parseMinPosition } from '../../customers/read-your-writes';
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
  @ApiQuery({ name: 'minPosition', required: false, description: 'Wait until the read models include this log position' })
  @ApiQuery({ name: 'allowStale', required: false })
  @ApiAnswer(200, 'LoyaltyExplanation')
  async explain(
    @Param('customerId') customerId: string,
    @Query('asOf') asOf: unknown,
    @Query('minPosition') minPosition: unknown,
    @Query('allowStale') allowStale: unknown,
    @Res({ passthrough: true }) res: Response,
  ): Promise<Explanation> {
    const { result, stale } = await this.queries.execute(new ExplainQuery(customerId, parseAsOf(asOf), parseMinPosition(minPosition), allowStale === 'true'));
    if (stale) res.setHeader('X-Cairn-Stale', 'true');
    return result;
  }
}
