import { Body, Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiExtraModels, ApiOperation, ApiResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { Request } from 'express';
import { randomUUID } from 'crypto';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { RequireScope } from '../../auth/auth.guard';
import { RecordEventsCommand, type RecordEventsResult } from './record-events.command';
import { MAX_EVENTS_PER_REQUEST, ONE_EVENT_SCHEMA, RecordEventsRequestDto, RecordEventsResponseDto } from './record-events.request.dto';

@ApiTags('ingest')
@ApiBearerAuth()
@Controller('v1/events')
export class RecordEventsHttpController {
  constructor(@Inject(CommandBus) private readonly commands: CommandBus) {}

  @Post()
  @HttpCode(202)
  @RequireScope('ingest')
  @ApiOperation({ summary: 'Record one event, or { events: [...] } (≤ 500 events, ≤ 1 MB)' })
  @ApiExtraModels(RecordEventsRequestDto)
  @ApiBody({ description: 'One event (its schema chosen by `type`), or { events: [...] }', schema: { oneOf: [...ONE_EVENT_SCHEMA.oneOf, { $ref: getSchemaPath(RecordEventsRequestDto) }] } })
  @ApiResponse({ status: 202, type: RecordEventsResponseDto })
  async record(@Body() body: unknown, @Req() req: Request): Promise<RecordEventsResult> {
    const events = toEventList(body);
    const header = req.headers['x-correlation-id'];
    const correlationId = typeof header === 'string' && /^[\w.:-]{1,100}$/.test(header) ? header : randomUUID();
    return this.commands.execute(new RecordEventsCommand(events, correlationId, new Date()));
  }
}

function toEventList(body: unknown): unknown[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new CairnError(ERROR_CODES.VALIDATION, 'the body must be one event object or { "events": [...] }', {
      fields: [{ field: '', message: 'expected a JSON object' }],
    });
  }
  const obj = body as Record<string, unknown>;
  if (!('events' in obj)) return [obj];
  if (!Array.isArray(obj.events)) {
    throw new CairnError(ERROR_CODES.VALIDATION, 'events must be an array', { fields: [{ field: 'events', message: 'must be an array' }] });
  }
  if (obj.events.length === 0) {
    throw new CairnError(ERROR_CODES.VALIDATION, 'events is empty', { fields: [{ field: 'events', message: 'must hold at least one event' }] });
  }
  if (obj.events.length > MAX_EVENTS_PER_REQUEST) {
    throw new CairnError(ERROR_CODES.PAYLOAD_TOO_LARGE, `at most ${MAX_EVENTS_PER_REQUEST} events per request`, {
      fields: [{ field: 'events', message: `has ${obj.events.length} events; the limit is ${MAX_EVENTS_PER_REQUEST}` }],
    });
  }
  return obj.events;
}
