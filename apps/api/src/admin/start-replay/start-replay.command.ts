import { Command } from '@nestjs/cqrs';
import type { ReplayJobStatus, ReplayRequest } from '@cairn/projections';

export class StartReplayCommand extends Command<ReplayJobStatus> {
  constructor(readonly request: ReplayRequest) {
    super();
  }
}
