import { Command } from '@nestjs/cqrs';
import type { Condition } from '@cairn/domain';
import type { SegmentDefinition } from '@cairn/projections';

/** Define a new segment (id absent) or a new version of one (PUT). */
export class DefineSegmentCommand extends Command<SegmentDefinition> {
  constructor(
    readonly id: string | undefined,
    readonly name: string,
    readonly condition: Condition,
    readonly at: Date,
  ) {
    super();
  }
}
