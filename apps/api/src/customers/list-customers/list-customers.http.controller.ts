import { Controller, Get, Inject, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiQuery, ApiTags } from '@nestjs/swagger';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { RequireScope } from '../../auth/auth.guard';
import { ListCustomersQuery, type CustomerPage } from './list-customers.query';

@ApiTags('customers')
@ApiBearerAuth()
@Controller('v1/customers')
export class ListCustomersHttpController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  @Get()
  @RequireScope('read')
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'limit', required: false, description: '1–500, default 50' })
  async list(@Query('cursor') cursor: unknown, @Query('limit') limit: unknown): Promise<CustomerPage> {
    let n = 50;
    if (limit !== undefined) {
      if (typeof limit !== 'string' || !/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > 500) {
        throw new CairnError(ERROR_CODES.VALIDATION, 'limit must be an integer from 1 to 500', { fields: [{ field: 'limit', message: 'must be an integer from 1 to 500' }] });
      }
      n = Number(limit);
    }
    if (cursor !== undefined && typeof cursor !== 'string') {
      throw new CairnError(ERROR_CODES.VALIDATION, 'cursor must be a string', { fields: [{ field: 'cursor', message: 'must be a string' }] });
    }
    return this.queries.execute(new ListCustomersQuery(cursor || undefined, n));
  }
}
