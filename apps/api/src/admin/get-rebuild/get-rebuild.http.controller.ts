import { Controller, Get, Inject, Param } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../../auth/auth.guard';
import { GetRebuildQuery } from './get-rebuild.query';
import { ApiAnswer } from '../../openapi/openapi';

@ApiTags('admin')
@ApiBearerAuth()
@Controller('v1/admin/rebuilds')
export class GetRebuildHttpController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  /** A rebuild's progress: phase (building, switching, switched, failed, interrupted), done / total, rate, ETA, error. */
  @Get(':id')
  @RequireScope('admin')
  @ApiAnswer(200, 'RebuildStatus')
  get(@Param('id') id: string): Promise<unknown> {
    return this.queries.execute(new GetRebuildQuery(id));
  }
}
