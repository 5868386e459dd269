import { Controller, Get, Inject } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { ProjectionHealth } from '@cairn/projections';
import { RequireScope } from '../../auth/auth.guard';
import { ListProjectionHealthQuery } from './list-projection-health.query';
import { ApiAnswer } from '../../openapi/openapi';

@ApiTags('admin')
@ApiBearerAuth()
@Controller('v1/admin/projections')
export class ListProjectionHealthHttpController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  /** Per projection: version, checkpoint, lag (events, seconds), rate, state, last error, parked events, running rebuild. */
  @Get()
  @RequireScope('admin')
  @ApiAnswer(200, 'ProjectionHealthList')
  list(): Promise<{ projections: ProjectionHealth[] }> {
    return this.queries.execute(new ListProjectionHealthQuery());
  }
}
