import { Controller, Get, Inject, Param } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../../auth/auth.guard';
import { parseSegmentId } from '../segments.params';
import { GetSegmentsQuery } from './get-segments.query';
import { ApiAnswer } from '../../openapi/openapi';
import { ReadAnswer } from '../../read-your-writes';

@ApiTags('segments')
@ApiBearerAuth()
@Controller('v1/segments')
export class GetSegmentsHttpController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'Every segment with its definition, version and member count' })
  @ApiAnswer(200, 'SegmentList')
  @ReadAnswer()
  list(): Promise<unknown> {
    return this.queries.execute(new GetSegmentsQuery(undefined));
  }

  @Get(':id')
  @RequireScope('read')
  @ApiOperation({ summary: 'One segment with its definition, version and member count' })
  @ApiAnswer(200, 'SegmentWithMembers')
  @ReadAnswer()
  get(@Param('id') id: string): Promise<unknown> {
    return this.queries.execute(new GetSegmentsQuery(parseSegmentId(id)));
  }
}
