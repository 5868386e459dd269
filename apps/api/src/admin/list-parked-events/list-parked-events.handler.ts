import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { operationsOf, plain } from '../operations';
import { ListParkedEventsQuery } from './list-parked-events.query';

@QueryHandler(ListParkedEventsQuery)
export class ListParkedEventsHandler implements IQueryHandler<ListParkedEventsQuery, { parked: unknown[] }> {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  async execute(query: ListParkedEventsQuery): Promise<{ parked: unknown[] }> {
    const parked = await operationsOf(this.runtime).parked({ projection: query.projection, limit: query.limit });
    return { parked: plain(parked) as unknown[] };
  }
}
