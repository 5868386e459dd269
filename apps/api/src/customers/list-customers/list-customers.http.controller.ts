import { Controller, Get, Inject, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiQuery, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../../auth/auth.guard';
import { parseCursor, parseLimit } from '../../http-params';
import { ListCustomersQuery, type CustomerPage } from './list-customers.query';
import { ApiAnswer } from '../../openapi/openapi';
import { ReadAnswer } from '../../read-your-writes';

@ApiTags('customers')
@ApiBearerAuth()
@Controller('v1/customers')
export class ListCustomersHttpController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  @Get()
  @RequireScope('read')
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'limit', required: false, description: '1–500, default 50' })
  @ApiAnswer(200, 'CustomerPage')
  @ReadAnswer()
  async list(@Query('cursor') cursor: unknown, @Query('limit') limit: unknown): Promise<CustomerPage> {
    return this.queries.execute(new ListCustomersQuery(parseCursor(cursor), parseLimit(limit, 500, 50)));
  }
}
