import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { resolveCustomer } from '@cairn/projections';
import { getProfile } from '@cairn/read-models';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { ListCustomerSegmentsQuery } from './list-customer-segments.query';
import type { CustomerSegments } from './list-customer-segments.response.dto';

@QueryHandler(ListCustomerSegmentsQuery)
export class ListCustomerSegmentsHandler implements IQueryHandler<ListCustomerSegmentsQuery, CustomerSegments> {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  async execute(q: ListCustomerSegmentsQuery): Promise<CustomerSegments> {
    const { readStore, config } = this.runtime;
    const identity = await resolveCustomer(readStore.db, q.customerId, config.identitySharedDeviceLimit);
    const customerId = identity?.customerId ?? q.customerId;
    if (!identity && !(await getProfile(readStore.db, customerId))) throw new CairnError(ERROR_CODES.NOT_FOUND, `no customer '${q.customerId}'`, { customerId: q.customerId });
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
