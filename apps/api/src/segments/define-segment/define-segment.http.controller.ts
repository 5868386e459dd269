import { Body, Controller, HttpCode, Inject, Param, Post, Put } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { parseSegmentBody, type SegmentDefinition } from '@cairn/projections';
import { RequireScope } from '../../auth/auth.guard';
import { Audited, resultId } from '../../audit/audit';
import { parseSegmentId } from '../segments.params';
import { DefineSegmentCommand } from './define-segment.command';
import { DefineSegmentRequestDto } from './define-segment.request.dto';
import { ERROR_CODES } from '@cairn/domain';
import { ApiAnswer, ApiConflict } from '../../openapi/openapi';

@ApiTags('segments')
@ApiBearerAuth()
@Controller('v1/segments')
export class DefineSegmentHttpController {
  constructor(@Inject(CommandBus) private readonly commands: CommandBus) {}

  @Post()
  @HttpCode(201)
  @RequireScope('admin')
  @Audited('segment.defined', { resultTargets: resultId('segmentId') })
  @ApiOperation({ summary: 'Define a rule-based segment (stored as an event); membership is evaluated in the background' })
  @ApiBody({ type: DefineSegmentRequestDto })
  @ApiAnswer(201, 'Segment')
  @ApiConflict(ERROR_CODES.STREAM_CONFLICT)
  create(@Body() body: unknown): Promise<SegmentDefinition> {
    const def = parseSegmentBody(body);
    return this.commands.execute(new DefineSegmentCommand(undefined, def.name, def.condition, new Date()));
  }

  @Put(':id')
  @RequireScope('admin')
  @Audited('segment.defined')
  @ApiOperation({ summary: 'Define a new version of a segment; membership is re-evaluated' })
  @ApiBody({ type: DefineSegmentRequestDto })
  @ApiAnswer(200, 'Segment')
  @ApiConflict(ERROR_CODES.STREAM_CONFLICT)
  update(@Param('id') id: string, @Body() body: unknown): Promise<SegmentDefinition> {
    const segmentId = parseSegmentId(id);
    const def = parseSegmentBody(body);
    return this.commands.execute(new DefineSegmentCommand(segmentId, def.name, def.condition, new Date()));
  }
}
