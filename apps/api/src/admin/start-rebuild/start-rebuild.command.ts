import { Command } from '@nestjs/cqrs';
import type { RebuildStatus } from '@cairn/projections';

export class StartRebuildCommand extends Command<RebuildStatus> {
  constructor(
    /** Projection names, or ['all']. */
    readonly projections: readonly string[],
    readonly keepOld: boolean,
    /** Stop at the first poison event instead of parking it. */
    readonly strict: boolean = false,
  ) {
    super();
  }
}
