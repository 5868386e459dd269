import { Controller, Get, Inject, Param } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../../auth/auth.guard';
import { GetReplayQuery } from './get-replay.query';
import { ApiAnswer } from '../../openapi/openapi';

@ApiTags('admin')
@ApiBearerAuth()
@Controller('v1/admin/replays')
export class GetReplayHttpController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  /** The replay's state (running, done, failed), progress and, once done, its summary. */
  @Get(':id')
  @RequireScope('admin')
  @ApiAnswer(200, 'ReplayStatus')
  get(@Param('id') id: string): Promise<unknown> {
    return this.queries.execute(new GetReplayQuery(id, false));
  }

  /** Once done: every output file (CSV and JSON per read model, diffs, summary.json) by relative path. */
  @Get(':id/files')
  @RequireScope('admin')
  @ApiAnswer(200, 'ReplayFiles')
  files(@Param('id') id: string): Promise<unknown> {
    return this.queries.execute(new GetReplayQuery(id, true));
  }
}
