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
    return operationsOf(this.runtime).startReplay(command.request);
  }
}
