import { Query } from '@nestjs/cqrs';
import type { RfmSegment } from '@cairn/domain';
import type { RfmMember, RfmRun } from '@cairn/projections';

export interface RfmSegmentPage {
  readonly run: RfmRun;
  readonly segment: RfmSegment;
  readonly items: RfmMember[];
  readonly nextCursor: string | null;
}

export class ListRfmSegmentCustomersQuery extends Query<RfmSegmentPage> {
  constructor(
    readonly segment: RfmSegment,
    readonly cursor: string | undefined,
    readonly limit: number,
    readonly runId: string | undefined,
  ) {
    super();
  }
}
