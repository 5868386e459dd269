import { Command } from '@nestjs/cqrs';
import type { FieldError } from '@cairn/domain';

export type EventOutcome =
  | { index: number; id: string; status: 'accepted' | 'duplicate' }
  | { index: number; id?: string; status: 'rejected'; errors: FieldError[] };

export interface RecordEventsResult {
  readonly results: EventOutcome[];
  /** Highest log position reached by this request's appends (null when nothing was appended). */
  readonly position: { commit: string; prepare: string } | null;
}

/** Record raw events sent by a shop: validate each, append the valid new ones durably. */
export class RecordEventsCommand extends Command<RecordEventsResult> {
  constructor(
    readonly events: readonly unknown[],
    readonly correlationId: string,
    readonly receivedAt: Date,
  ) {
    super();
  }
}
