import { Controller, Get, Inject, Query as QueryParam } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiQuery, ApiTags } from '@nestjs/swagger';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { RequireScope } from '../../auth/auth.guard';
import { ListParkedEventsQuery } from './list-parked-events.query';
import { ApiAnswer } from '../../openapi/openapi';

@ApiTags('admin')
@ApiBearerAuth()
@Controller('v1/admin/parked')
export class ListParkedEventsHttpController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  /** Poison events parked by live projectors: the event, the error, the projection version, attempts. */
  @Get()
  @RequireScope('admin')
  @ApiQuery({ name: 'projection', required: false })
  @ApiQuery({ name: 'limit', required: false, description: '1–1000, default 100' })
  @ApiAnswer(200, 'ParkedEvents')
  list(@QueryParam('projection') projection?: string, @QueryParam('limit') limit?: string): Promise<{ parked: unknown[] }> {
    const n = limit === undefined ? 100 : Number(limit);
    if (!Number.isSafeInteger(n) || n < 1 || n > 1000) {
      throw new CairnError(ERROR_CODES.VALIDATION, 'invalid limit', { fields: [{ field: 'limit', message: 'must be an integer from 1 to 1000' }] });
    }
    return this.queries.execute(new ListParkedEventsQuery(projection, n));
  }
}
