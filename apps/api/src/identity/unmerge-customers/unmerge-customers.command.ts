import { Command } from '@nestjs/cqrs';

export interface UnmergeResult {
  readonly mergeId: string;
  readonly survivorId: string;
  readonly mergedId: string;
  readonly unmergedAt: string;
}

/** Admin: reverse a merge; every affected person is re-derived from their events. */
export class UnmergeCustomersCommand extends Command<UnmergeResult> {
  constructor(
    readonly mergeId: string,
    readonly requestedAt: Date,
  ) {
    super();
  }
}
