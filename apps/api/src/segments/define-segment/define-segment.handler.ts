import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { createSegment, updateSegment, type SegmentDefinition } from '@cairn/projections';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { SegmentEngineService } from '../segment-engine.service';
import { DefineSegmentCommand } from './define-segment.command';

@CommandHandler(DefineSegmentCommand)
export class DefineSegmentHandler implements ICommandHandler<DefineSegmentCommand, SegmentDefinition> {
  constructor(
    @Inject(RUNTIME) private readonly runtime: CairnRuntime,
    private readonly engine: SegmentEngineService,
  ) {}

  async execute(c: DefineSegmentCommand): Promise<SegmentDefinition> {
    const { readStore, events } = this.runtime;
    const def = c.id === undefined ? await createSegment(readStore, events, c, c.at) : await updateSegment(readStore, events, c.id, c, c.at);
    // Evaluate it over every profile now, in the background (short transactions, never blocking ingestion).
    this.engine.tick();
    return def;
  }
}
