import { Query } from '@nestjs/cqrs';
import type { SegmentDefinition } from '@cairn/projections';

/** One segment (with its member count) or, without an id, every segment. */
export class GetSegmentsQuery extends Query<SegmentDefinition & { members: number } | { items: (SegmentDefinition & { members: number })[] }> {
  constructor(readonly id: string | undefined) {
    super();
  }
}
