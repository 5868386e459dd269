import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { listProfiles } from '@cairn/read-models';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { toProfileView } from '../profile.view';
import { ListCustomersQuery, type CustomerPage } from './list-customers.query';

@QueryHandler(ListCustomersQuery)
export class ListCustomersHandler implements IQueryHandler<ListCustomersQuery, CustomerPage> {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  async execute(q: ListCustomersQuery): Promise<CustomerPage> {
    const page = await listProfiles(this.runtime.readStore.db, { cursor: q.cursor, limit: q.limit });
    return { items: page.items.map(toProfileView), nextCursor: page.nextCursor };
  }
}
