import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { ReplayJobStatus } from '@cairn/projections';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { operationsOf } from '../operations';
import { StartReplayCommand } from './start-replay.command';

@CommandHandler(StartReplayCommand)
export class StartReplayHandler implements ICommandHandler<StartReplayCommand, ReplayJobStatus> {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  async execute(command: StartReplayCommand): Promise<ReplayJobStatus> {
    const operations = operationsOf(this.runtime);
    // Rules naming live ids (a segment to change) are checked now: a 400, not a failed job.
    await operations.checkReplay(command.request);
    return operations.startReplay(command.request);
  }
}
