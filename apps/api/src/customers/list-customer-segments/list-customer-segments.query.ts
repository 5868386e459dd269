import { Query } from '@nestjs/cqrs';
import type { CustomerSegments } from './list-customer-segments.response.dto';

/** The live rule-based segments a customer (the person the id resolves to) is in now. */
export class ListCustomerSegmentsQuery extends Query<CustomerSegments> {
  constructor(readonly customerId: string) {
    super();
  }
}
