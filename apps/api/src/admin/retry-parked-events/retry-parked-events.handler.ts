import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { RetryResult } from '@cairn/projections';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { operationsOf } from '../operations';
import { RetryParkedEventsCommand } from './retry-parked-events.command';

@CommandHandler(RetryParkedEventsCommand)
export class RetryParkedEventsHandler implements ICommandHandler<RetryParkedEventsCommand, { results: RetryResult[] }> {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  async execute(command: RetryParkedEventsCommand): Promise<{ results: RetryResult[] }> {
    return { results: await operationsOf(this.runtime).retryParked({ projection: command.projection, eventIds: command.eventIds }) };
  }
}
