import { Controller, Get, Inject, Param } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../../auth/auth.guard';
import { ReadAnswer } from '../../read-your-writes';
import { ListCustomerSegmentsQuery } from './list-customer-segments.query';
import { CustomerSegments } from './list-customer-segments.response.dto';

@ApiTags('customers')
@ApiBearerAuth()
@Controller('v1/customers')
export class ListCustomerSegmentsHttpController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  @Get(':id/segments')
  @RequireScope('read')
  @ApiOperation({ summary: 'The rule-based segments the customer (the person the id resolves to) is a member of now' })
  @ApiOkResponse({ type: CustomerSegments })
  @ReadAnswer()
  list(@Param('id') id: string): Promise<CustomerSegments> {
    return this.queries.execute(new ListCustomerSegmentsQuery(id));
  }
}
