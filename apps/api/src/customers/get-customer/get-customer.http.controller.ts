import { Controller, Get, Inject, Param, Query, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { RequireScope } from '../../auth/auth.guard';
import { ApiAnswer } from '../../openapi/openapi';
import type { ProfileView } from '../profile.view';
import { parseMinPosition } from '../read-your-writes';
import { GetCustomerQuery } from './get-customer.query';

@ApiTags('customers')
@ApiBearerAuth()
@Controller('v1/customers')
export class GetCustomerHttpController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  @Get(':id')
  @RequireScope('read')
  @ApiAnswer(200, 'Profile')
  @ApiQuery({ name: 'minPosition', required: false, description: 'Wait until the read models include this log position (from an ingest response)' })
  @ApiQuery({ name: 'allowStale', required: false, description: 'true: answer after the wait even if not caught up (X-Cairn-Stale: true)' })
  async get(
    @Param('id') id: string,
    @Query('minPosition') minPosition: unknown,
    @Query('allowStale') allowStale: unknown,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ProfileView> {
    const { profile, stale } = await this.queries.execute(new GetCustomerQuery(id, parseMinPosition(minPosition), allowStale === 'true'));
    if (stale) res.setHeader('X-Cairn-Stale', 'true');
    return profile;
  }
}
