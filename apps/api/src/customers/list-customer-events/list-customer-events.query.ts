import { Query } from '@nestjs/cqrs';
import type { CustomerEventsPage } from './list-customer-events.response.dto';

/** One customer's events, newest first, over every id linked to the person. */
export class ListCustomerEventsQuery extends Query<CustomerEventsPage> {
  constructor(
    readonly customerId: string,
    /** Only events before this commit position (the previous page's nextCursor). */
    readonly before: bigint | undefined,
    readonly limit: number,
  ) {
    super();
  }
}
