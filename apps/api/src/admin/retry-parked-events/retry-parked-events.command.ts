import { Command } from '@nestjs/cqrs';
import type { RetryResult } from '@cairn/projections';

export class RetryParkedEventsCommand extends Command<{ results: RetryResult[] }> {
  constructor(
    readonly projection: string | undefined,
    readonly eventIds: readonly string[] | undefined,
  ) {
    super();
  }
}
