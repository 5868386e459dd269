import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../../auth/auth.guard';
import { badParam, parseLimit } from '../../http-params';
import { ListCustomerEventsQuery } from './list-customer-events.query';
import { CustomerEventsPage } from './list-customer-events.response.dto';

function parseBefore(value: unknown): bigint | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^\d{1,20}$/.test(value)) throw badParam('cursor', 'must be the nextCursor of a previous page');
  return BigInt(value);
}

@ApiTags('customers')
@ApiBearerAuth()
@Controller('v1/customers')
export class ListCustomerEventsHttpController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  @Get(':id/events')
  @RequireScope('read')
  @ApiOperation({ summary: "The customer's event timeline, newest first, over every linked customer id and anonymous id (read from the event store)" })
  @ApiQuery({ name: 'cursor', required: false, description: 'nextCursor of the previous page' })
  @ApiQuery({ name: 'limit', required: false, description: '1–200, default 50' })
  @ApiOkResponse({ type: CustomerEventsPage })
  list(@Param('id') id: string, @Query('cursor') cursor: unknown, @Query('limit') limit: unknown): Promise<CustomerEventsPage> {
    return this.queries.execute(new ListCustomerEventsQuery(id, parseBefore(cursor), parseLimit(limit, 200, 50)));
  }
}
