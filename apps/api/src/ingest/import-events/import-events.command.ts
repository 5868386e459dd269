import { Command } from '@nestjs/cqrs';
import type { FieldError } from '@cairn/domain';
import type { NdjsonLine } from './ndjson-lines';

/** Counts so far; `acknowledged` is the last line up to which every line is settled durably. */
export interface ImportProgress {
  /** Every line up to this one (1-based, as in the file) is accepted (durably appended), duplicate or rejected. */
  readonly acknowledged: number;
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: number;
  /** Highest log position reached so far (pass as ?minPosition= to read your writes), null while nothing was appended. */
  readonly position: { commit: string; prepare: string } | null;
}

export interface ImportSummary extends ImportProgress {
  /** Non-blank lines read: accepted + duplicates + rejected. */
  readonly lines: number;
}

/** One record of the streamed answer (one NDJSON line each). */
export type ImportRecord =
  | { readonly line: number; readonly status: 'rejected'; readonly id?: string; readonly errors: FieldError[] }
  | ImportProgress
  | { readonly summary: ImportSummary };

/**
 * Import a historical load: NDJSON lines, each one event of the `POST /v1/events` contract with a
 * client id, appended in large groups; progress and per-line errors go to `emit` as they happen.
 */
export class ImportEventsCommand extends Command<ImportSummary> {
  constructor(
    readonly lines: AsyncIterable<NdjsonLine>,
    readonly emit: (record: ImportRecord) => Promise<void>,
    readonly correlationId: string,
    readonly receivedAt: Date,
  ) {
    super();
  }
}
