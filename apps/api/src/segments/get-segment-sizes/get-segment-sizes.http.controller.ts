import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { SIZE_PERIODS, type SizePeriod } from '@cairn/domain';
import { RequireScope } from '../../auth/auth.guard';
import { badParam } from '../../http-params';
import { ApiAnswer } from '../../openapi/openapi';
import { ReadAnswer } from '../../read-your-writes';
import { parseSegmentId } from '../segments.params';
import { GetSegmentSizesQuery, type SegmentSizes } from './get-segment-sizes.query';

const DAY = 86_400_000;

/** `YYYY-MM-DD` (a UTC day) → its first instant in ms; 400 naming the field. */
function dayParam(field: string, value: unknown): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : NaN;
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== value) throw badParam(field, 'must be a date YYYY-MM-DD (UTC)');
  return ms;
}

export function parseSizesQuery(id: string, q: { period?: unknown; from?: unknown; to?: unknown }, now = Date.now()): GetSegmentSizesQuery {
  const segmentId = parseSegmentId(id);
  const period = q.period === undefined || q.period === '' ? 'day' : q.period;
  if (typeof period !== 'string' || !SIZE_PERIODS.includes(period as SizePeriod)) throw badParam('period', `must be one of ${SIZE_PERIODS.join(', ')}`);
  const from = dayParam('from', q.from);
  const to = dayParam('to', q.to);
  if (from !== undefined && to !== undefined && from > to) throw badParam('from', 'must not be after to');
  // `to` ends with its day; never later than now (the history is not known beyond it).
  const until = to === undefined ? undefined : new Date(Math.min(to + DAY - 1, now)).toISOString();
  return new GetSegmentSizesQuery(segmentId, period as SizePeriod, from === undefined ? undefined : new Date(from).toISOString(), until);
}

@ApiTags('segments')
@ApiBearerAuth()
@Controller('v1/segments')
export class GetSegmentSizesHttpController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  @Get(':id/sizes')
  @RequireScope('read')
  @ApiOperation({ summary: 'The segment’s size over time: per UTC day, week or month, its entries, exits and the size at the period’s end, from its membership history' })
  @ApiQuery({ name: 'period', required: false, enum: SIZE_PERIODS, description: 'day (default), week (from Monday) or month' })
  @ApiQuery({ name: 'from', required: false, description: 'YYYY-MM-DD: the first period holds this day (default: the first change); earlier changes count in the starting size' })
  @ApiQuery({ name: 'to', required: false, description: 'YYYY-MM-DD: the last period holds this day (default: today)' })
  @ApiAnswer(200, 'SegmentSizes')
  @ReadAnswer()
  sizes(@Param('id') id: string, @Query('period') period: unknown, @Query('from') from: unknown, @Query('to') to: unknown): Promise<SegmentSizes> {
    return this.queries.execute(parseSizesQuery(id, { period, from, to }));
  }
}
