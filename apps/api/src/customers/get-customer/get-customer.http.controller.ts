import { Controller, Get, Inject, Param } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../../auth/auth.guard';
import { ApiAnswer } from '../../openapi/openapi';
import type { ProfileView } from '../profile.view';
import { ReadAnswer } from '../../read-your-writes';
import { GetCustomerQuery } from './get-customer.query';

@ApiTags('customers')
@ApiBearerAuth()
@Controller('v1/customers')
export class GetCustomerHttpController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  @Get(':id')
  @RequireScope('read')
  @ApiAnswer(200, 'Profile')
  @ReadAnswer()
  get(@Param('id') id: string): Promise<ProfileView> {
    return this.queries.execute(new GetCustomerQuery(id));
  }
}
