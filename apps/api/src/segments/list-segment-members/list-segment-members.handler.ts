import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { getSegment, listSegmentMembers, type SegmentMembersPage } from '@cairn/projections';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { ListSegmentMembersQuery } from './list-segment-members.query';

@QueryHandler(ListSegmentMembersQuery)
export class ListSegmentMembersHandler implements IQueryHandler<ListSegmentMembersQuery, SegmentMembersPage & { segmentId: string; version: number }> {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  async execute(q: ListSegmentMembersQuery): Promise<SegmentMembersPage & { segmentId: string; version: number }> {
    const def = await getSegment(this.runtime.readStore, q.segmentId);
    const page = await listSegmentMembers(this.runtime.readStore.db, q.segmentId, { cursor: q.cursor, limit: q.limit });
    return { segmentId: def.id, version: def.version, ...page };
  }
}
