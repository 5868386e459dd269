import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { knownCustomer } from '../known-customer';
import { ListCustomerSegmentsQuery } from './list-customer-segments.query';
import type { CustomerSegments } from './list-customer-segments.response.dto';

@QueryHandler(ListCustomerSegmentsQuery)
export class ListCustomerSegmentsHandler implements IQueryHandler<ListCustomerSegmentsQuery, CustomerSegments> {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  async execute(q: ListCustomerSegmentsQuery): Promise<CustomerSegments> {
    const { readStore } = this.runtime;
    const { customerId } = await knownCustomer(this.runtime, q.customerId);
    const rows = await readStore.db
      .selectFrom('segment_members as m')
      .innerJoin('segments as s', 's.segment_id', 'm.segment_id')
      .select(['m.segment_id', 's.name', 's.version', 'm.since'])
      .where('m.customer_id', '=', customerId)
      .where('s.deleted', '=', 0)
      .orderBy('s.name')
      .execute();
    return { customerId, items: rows.map((r) => ({ segmentId: r.segment_id, name: r.name, version: Number(r.version), since: r.since })) };
  }
}
