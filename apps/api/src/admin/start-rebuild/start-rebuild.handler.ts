import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { RebuildStatus } from '@cairn/projections';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { operationsOf } from '../operations';
import { StartRebuildCommand } from './start-rebuild.command';

@CommandHandler(StartRebuildCommand)
export class StartRebuildHandler implements ICommandHandler<StartRebuildCommand, RebuildStatus> {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  execute(command: StartRebuildCommand): Promise<RebuildStatus> {
    return operationsOf(this.runtime).startRebuild(command.projections, { keepOld: command.keepOld, strict: command.strict });
  }
}
