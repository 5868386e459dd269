import { Command } from '@nestjs/cqrs';

export interface MergeResult {
  readonly mergeId: string;
  readonly survivorId: string;
  readonly mergedId: string;
  readonly requestedAt: string;
  readonly reason?: string;
}

/** Admin: fold customer `mergedId` into `survivorId` (recorded as an event, reversible). */
export class MergeCustomersCommand extends Command<MergeResult> {
  constructor(
    readonly survivorId: string,
    readonly mergedId: string,
    readonly reason: string | undefined,
    readonly requestedAt: Date,
  ) {
    super();
  }
}
