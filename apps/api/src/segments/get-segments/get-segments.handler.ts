import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { getSegment, listSegments, type SegmentDefinition } from '@cairn/projections';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { GetSegmentsQuery } from './get-segments.query';

type WithCount = SegmentDefinition & { members: number };

@QueryHandler(GetSegmentsQuery)
export class GetSegmentsHandler implements IQueryHandler<GetSegmentsQuery, WithCount | { items: WithCount[] }> {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  async execute(q: GetSegmentsQuery): Promise<WithCount | { items: WithCount[] }> {
    const store = this.runtime.readStore;
    const defs = q.id !== undefined ? [await getSegment(store, q.id)] : await listSegments(store);
    const counts = await store.db
      .selectFrom('segment_members')
      .select(['segment_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('segment_id', 'in', defs.length > 0 ? defs.map((d) => d.id) : [''])
      .groupBy('segment_id')
      .execute();
    const withCounts = defs.map((d) => ({ ...d, members: Number(counts.find((c) => c.segment_id === d.id)?.n ?? 0) }));
    return q.id !== undefined ? withCounts[0]! : { items: withCounts };
  }
}
