import { Controller, Get, Inject } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../../auth/auth.guard';
import { ListProjectionsQuery, type ProjectionView } from './list-projections.query';
import { ApiAnswer } from '../../openapi/openapi';

@ApiTags('projections')
@ApiBearerAuth()
@Controller('v1/projections')
export class ListProjectionsHttpController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  /** Checkpoint, lag (events and seconds) and rate per projection. */
  @Get()
  @RequireScope('read')
  @ApiAnswer(200, 'ProjectionList')
  list(): Promise<{ projections: ProjectionView[] }> {
    return this.queries.execute(new ListProjectionsQuery());
  }
}
