import { Inject } from '@nestjs/common';
import { CommandBus, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { CairnError, ERROR_CODES, type FieldError } from '@cairn/domain';
import { RecordEventsCommand } from '../../ingest/record-events/record-events.command';
import { Metrics } from '../../metrics/metrics';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { checkSegmentMessage, mapSegmentMessage, segmentFieldOf } from '../segment-mapping';
import { RecordSegmentCallsCommand, type RecordSegmentCallsResult, type SegmentMessageOutcome } from './record-segment-calls.command';

/**
 * Checks every message's shape first (any malformed message: 400 naming each field, nothing
 * appended, as a JSON error is for Segment), maps the rest onto the catalogue and records them
 * through the same path as POST /v1/events (validation, dedup by id, durable append). Outcomes of
 * single messages are Segment's 200; each one is counted in `cairn_segment_messages_total` and
 * each message Cairn did not take is logged with its reason.
 */
@CommandHandler(RecordSegmentCallsCommand)
export class RecordSegmentCallsHandler implements ICommandHandler<RecordSegmentCallsCommand, RecordSegmentCallsResult> {
  constructor(
    @Inject(RUNTIME) private readonly runtime: CairnRuntime,
    @Inject(CommandBus) private readonly commands: CommandBus,
    private readonly metrics: Metrics,
  ) {}

  async execute(command: RecordSegmentCallsCommand): Promise<RecordSegmentCallsResult> {
    const { messages, endpointType, path } = command;
    const prefix = (i: number) => (path === '' ? '' : `${path}[${i}]`);
    const malformed: FieldError[] = messages.flatMap((m, i) => checkSegmentMessage(m, prefix(i), endpointType));
    if (malformed.length > 0) {
      this.metrics.segmentMessages.inc({ outcome: 'malformed' }, messages.length);
      throw new CairnError(ERROR_CODES.VALIDATION, 'not a Segment Tracking API payload: nothing of it was recorded', { fields: malformed });
    }
    const ctx = { receivedAt: command.receivedAt, defaultCurrency: this.runtime.config.currency, customEvents: this.runtime.config.segmentCustomEvents };
    const outcomes: SegmentMessageOutcome[] = [];
    const events: Record<string, unknown>[] = [];
    const indexOfEvent: number[] = [];
    messages.forEach((raw, index) => {
      const msg = raw as Record<string, unknown>;
      const messageId = typeof msg.messageId === 'string' ? { messageId: msg.messageId } : {};
      const m = mapSegmentMessage(msg, ctx, endpointType);
      if (m.outcome === 'mapped') {
        indexOfEvent.push(index);
        events.push(m.event);
      } else if (m.outcome === 'unmapped') outcomes[index] = { index, ...messageId, status: 'unmapped', reason: m.reason };
      else outcomes[index] = { index, ...messageId, status: 'rejected', errors: m.errors };
    });
    let position: RecordSegmentCallsResult['position'] = null;
    if (events.length > 0) {
      const recorded = await this.commands.execute(new RecordEventsCommand(events, command.correlationId, command.receivedAt));
      position = recorded.position;
      for (const r of recorded.results) {
        const index = indexOfEvent[r.index]!;
        const msg = messages[index] as Record<string, unknown>;
        const messageId = typeof msg.messageId === 'string' ? { messageId: msg.messageId } : {};
        outcomes[index] =
          r.status === 'rejected'
            ? { index, ...messageId, ...(r.id !== undefined ? { id: r.id } : {}), status: 'rejected', errors: r.errors.map((e) => ({ field: segmentFieldOf(e.field), message: e.message })) }
            : { index, ...messageId, id: r.id, status: r.status };
      }
    }
    for (const o of outcomes) {
      this.metrics.segmentMessages.inc({ outcome: o.status });
      if (o.status === 'rejected' || o.status === 'unmapped') {
        this.runtime.logger.info({ correlationId: command.correlationId, index: o.index, messageId: o.messageId, status: o.status, reason: o.reason, errors: o.errors }, 'segment message not recorded');
      }
    }
    return { success: true, results: outcomes, position };
  }
}
