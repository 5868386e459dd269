import { Command } from '@nestjs/cqrs';
import type { FieldError } from '@cairn/domain';
import type { SegmentCallType } from '../segment-mapping';

/** One message's outcome: Cairn's event id and status, or why it was not taken. */
export interface SegmentMessageOutcome {
  /** The message's place in the batch (0 for a single call). */
  readonly index: number;
  /** The message's own messageId, when it has one. */
  readonly messageId?: string;
  /** Cairn's event id. */
  readonly id?: string;
  readonly status: 'accepted' | 'duplicate' | 'rejected' | 'unmapped';
  /** rejected: the fields, named as in the Segment message. */
  readonly errors?: FieldError[];
  /** unmapped: why Cairn has no kind for it. */
  readonly reason?: string;
}

/** What the door answers: Segment's `{ success: true }`, with Cairn's per-message outcomes beside it. */
export interface RecordSegmentCallsResult {
  /** Segment's answer: the request was taken (the outcome of each message is in results). */
  readonly success: true;
  readonly results: SegmentMessageOutcome[];
  /** Log position reached (null: nothing appended); pass its commit as ?minPosition= to read your writes. */
  readonly position: { commit: string; prepare: string } | null;
}

/** Segment Tracking API messages (a batch, or one call whose type is its endpoint's). */
export class RecordSegmentCallsCommand extends Command<RecordSegmentCallsResult> {
  constructor(
    readonly messages: readonly unknown[],
    /** Set for /track, /identify, /page: the message's type is the endpoint's. */
    readonly endpointType: SegmentCallType | undefined,
    /** Path of the messages in the body, for 400 field names: `batch` or '' (the body is the message). */
    readonly path: 'batch' | '',
    readonly correlationId: string,
    readonly receivedAt: Date,
  ) {
    super();
  }
}
