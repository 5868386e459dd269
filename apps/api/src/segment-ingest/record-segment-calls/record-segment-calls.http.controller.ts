import { Body, Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBasicAuth, ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { randomUUID } from 'crypto';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { AllowBasicAuth, RequireScope } from '../../auth/auth.guard';
import { MAX_EVENTS_PER_REQUEST } from '../../ingest/record-events/record-events.request.dto';
import { ApiAnswer, ApiError } from '../../openapi/openapi';
import type { SegmentCallType } from '../segment-mapping';
import { RecordSegmentCallsCommand, type RecordSegmentCallsResult } from './record-segment-calls.command';
import { SegmentBatchRequestDto, SegmentMessageDto } from './record-segment-calls.request.dto';

/**
 * Segment's HTTP Tracking API, so a shop's Segment or RudderStack SDK only needs Cairn's address as
 * its host (path /v1/segment/batch) and a Cairn ingest key as its write key (Basic auth user).
 * Its errors are in Cairn's shape (the one exception filter), not Segment's. docs/segment-compatibility.md.
 */
@ApiTags('segment')
@ApiBasicAuth()
@ApiBearerAuth()
@Controller('v1/segment')
export class RecordSegmentCallsHttpController {
  constructor(@Inject(CommandBus) private readonly commands: CommandBus) {}

  @Post('batch')
  @HttpCode(200)
  @RequireScope('ingest')
  @AllowBasicAuth()
  @ApiOperation({ summary: 'Segment batch: up to 500 messages (track, identify, page, …); per-message outcomes beside Segment\'s { success: true }' })
  @ApiBody({ type: SegmentBatchRequestDto })
  @ApiAnswer(200, 'SegmentCallsResult')
  @ApiError(413, `${ERROR_CODES.PAYLOAD_TOO_LARGE}: more than ${MAX_EVENTS_PER_REQUEST} messages, or a body over the size limit`)
  batch(@Body() body: unknown, @Req() req: Request): Promise<RecordSegmentCallsResult> {
    if (body === null || typeof body !== 'object' || Array.isArray(body) || !Array.isArray((body as { batch?: unknown }).batch)) {
      throw new CairnError(ERROR_CODES.VALIDATION, 'a Segment batch is { "batch": [messages] }', { fields: [{ field: 'batch', message: 'must be an array of messages' }] });
    }
    const batch = (body as { batch: unknown[] }).batch;
    if (batch.length === 0) throw new CairnError(ERROR_CODES.VALIDATION, 'the batch is empty', { fields: [{ field: 'batch', message: 'must hold at least one message' }] });
    if (batch.length > MAX_EVENTS_PER_REQUEST) {
      throw new CairnError(ERROR_CODES.PAYLOAD_TOO_LARGE, `at most ${MAX_EVENTS_PER_REQUEST} messages per batch`, { fields: [{ field: 'batch', message: `has ${batch.length} messages` }] });
    }
    return this.run(batch, undefined, 'batch', req);
  }

  @Post('track')
  @HttpCode(200)
  @RequireScope('ingest')
  @AllowBasicAuth()
  @ApiOperation({ summary: 'Segment track call: the e-commerce events are mapped (Product Viewed, Order Completed, Order Refunded, Product Reviewed)' })
  @ApiBody({ type: SegmentMessageDto })
  @ApiAnswer(200, 'SegmentCallsResult')
  track(@Body() body: unknown, @Req() req: Request): Promise<RecordSegmentCallsResult> {
    return this.run([body], 'track', '', req);
  }

  @Post('identify')
  @HttpCode(200)
  @RequireScope('ingest')
  @AllowBasicAuth()
  @ApiOperation({ summary: 'Segment identify call: links anonymousId to userId, with traits' })
  @ApiBody({ type: SegmentMessageDto })
  @ApiAnswer(200, 'SegmentCallsResult')
  identify(@Body() body: unknown, @Req() req: Request): Promise<RecordSegmentCallsResult> {
    return this.run([body], 'identify', '', req);
  }

  @Post('page')
  @HttpCode(200)
  @RequireScope('ingest')
  @AllowBasicAuth()
  @ApiOperation({ summary: 'Segment page call: checked and counted; Cairn\'s catalogue has no page kind, so it answers "unmapped"' })
  @ApiBody({ type: SegmentMessageDto })
  @ApiAnswer(200, 'SegmentCallsResult')
  page(@Body() body: unknown, @Req() req: Request): Promise<RecordSegmentCallsResult> {
    return this.run([body], 'page', '', req);
  }

  private run(messages: unknown[], type: SegmentCallType | undefined, path: 'batch' | '', req: Request): Promise<RecordSegmentCallsResult> {
    const header = req.headers['x-correlation-id'];
    const correlationId = typeof header === 'string' && /^[\w.:-]{1,100}$/.test(header) ? header : randomUUID();
    return this.commands.execute(new RecordSegmentCallsCommand(messages, type, path, correlationId, new Date()));
  }
}
