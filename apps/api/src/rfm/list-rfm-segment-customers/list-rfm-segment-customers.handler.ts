import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { rfmSegmentMembers } from '@cairn/projections';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { ListRfmSegmentCustomersQuery, type RfmSegmentPage } from './list-rfm-segment-customers.query';

@QueryHandler(ListRfmSegmentCustomersQuery)
export class ListRfmSegmentCustomersHandler implements IQueryHandler<ListRfmSegmentCustomersQuery, RfmSegmentPage> {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  async execute(q: ListRfmSegmentCustomersQuery): Promise<RfmSegmentPage> {
    const page = await rfmSegmentMembers(this.runtime.readStore.db, q.segment, { cursor: q.cursor, limit: q.limit, runId: q.runId });
    return { run: page.run, segment: q.segment, items: page.items, nextCursor: page.nextCursor };
  }
}
