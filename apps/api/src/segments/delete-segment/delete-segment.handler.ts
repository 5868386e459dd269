import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { deleteSegment } from '@cairn/projections';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { SegmentEngineService } from '../segment-engine.service';
import { DeleteSegmentCommand, type DeleteSegmentResult } from './delete-segment.command';

@CommandHandler(DeleteSegmentCommand)
export class DeleteSegmentHandler implements ICommandHandler<DeleteSegmentCommand, DeleteSegmentResult> {
  constructor(
    @Inject(RUNTIME) private readonly runtime: CairnRuntime,
    private readonly engine: SegmentEngineService,
  ) {}

  async execute(c: DeleteSegmentCommand): Promise<DeleteSegmentResult> {
    const result = await deleteSegment(this.runtime.readStore, this.runtime.events, c.id, c.at);
    this.engine.tick();
    return result;
  }
}
