import { Controller, Get, Headers, Inject, Param, Query, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { toCsv } from '@cairn/runtime';
import { RequireScope } from '../../auth/auth.guard';
import { parseCursor, parseLimit, parseSegmentId } from '../segments.params';
import { ListSegmentMembersQuery } from './list-segment-members.query';
import { ApiAnswer } from '../../openapi/openapi';
import { ReadAnswer } from '../../read-your-writes';

const CSV_PAGE = 1000;

@ApiTags('segments')
@ApiBearerAuth()
@Controller('v1/segments')
export class ListSegmentMembersHttpController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  @Get(':id/members')
  @RequireScope('read')
  @ApiOperation({ summary: 'Current members by customer id (paginated); Accept: text/csv exports every member' })
  @ApiProduces('application/json', 'text/csv')
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'limit', required: false, description: '1–1000, default 100 (JSON only)' })
  @ApiAnswer(200, 'SegmentMembers', { csv: true })
  @ReadAnswer()
  async members(
    @Param('id') id: string,
    @Query('cursor') cursor: unknown,
    @Query('limit') limit: unknown,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<unknown> {
    const segmentId = parseSegmentId(id);
    if (!accept?.includes('text/csv')) return this.queries.execute(new ListSegmentMembersQuery(segmentId, parseCursor(cursor), parseLimit(limit)));
    // CSV: every member, page by page (the first page also checks that the segment exists).
    let page = await this.queries.execute(new ListSegmentMembersQuery(segmentId, undefined, CSV_PAGE));
    res.status(200);
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="segment-${segmentId}-v${page.version}.csv"`);
    res.write(toCsv(['customer_id', 'since'], []));
    for (;;) {
      res.write(toCsv([], page.items.map((m) => [m.customerId, m.since]), { noHeader: true }));
      if (page.nextCursor === null) break;
      page = await this.queries.execute(new ListSegmentMembersQuery(segmentId, page.nextCursor, CSV_PAGE));
    }
    res.end();
    return undefined;
  }
}
