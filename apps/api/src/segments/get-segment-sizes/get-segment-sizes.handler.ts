import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { segmentSizes } from '@cairn/domain';
import { getSegment, segmentMembershipHistory } from '@cairn/projections';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { GetSegmentSizesQuery, type SegmentSizes } from './get-segment-sizes.query';

@QueryHandler(GetSegmentSizesQuery)
export class GetSegmentSizesHandler implements IQueryHandler<GetSegmentSizesQuery, SegmentSizes> {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  async execute(q: GetSegmentSizesQuery): Promise<SegmentSizes> {
    const store = this.runtime.readStore;
    const def = await getSegment(store, q.segmentId);
    const until = q.until ?? new Date().toISOString();
    const changes = await segmentMembershipHistory(store, this.runtime.events, def.id);
    // Counted after the history: a change made in between is in the count and, at the latest, in the next answer's history.
    const members = await store.db.selectFrom('segment_members').select((eb) => eb.fn.countAll<number>().as('n')).where('segment_id', '=', def.id).executeTakeFirst();
    const { period, points } = segmentSizes(changes, { period: q.period, from: q.from, until });
    return { segmentId: def.id, name: def.name, version: def.version, period, timezone: 'UTC', until, members: Number(members?.n ?? 0), points };
  }
}
