import { Query } from '@nestjs/cqrs';
import type { SegmentMembersPage } from '@cairn/projections';

export class ListSegmentMembersQuery extends Query<SegmentMembersPage & { segmentId: string; version: number }> {
  constructor(
    readonly segmentId: string,
    readonly cursor: string | undefined,
    readonly limit: number,
  ) {
    super();
  }
}
