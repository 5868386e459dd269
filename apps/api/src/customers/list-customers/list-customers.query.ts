import { Query } from '@nestjs/cqrs';
import type { ProfileView } from '../profile.view';

export interface CustomerPage {
  items: ProfileView[];
  nextCursor: string | null;
}

export class ListCustomersQuery extends Query<CustomerPage> {
  constructor(
    readonly cursor: string | undefined,
    readonly limit: number,
  ) {
    super();
  }
}
