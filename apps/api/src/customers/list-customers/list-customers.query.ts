import { Query } from '@nestjs/cqrs';
import type { LifecycleStage } from '@cairn/domain';
import type { ProfileView } from '../profile.view';

export interface CustomerPage {
  items: ProfileView[];
  nextCursor: string | null;
}

/** Simple filters of the customers list; every one given must hold. */
export interface CustomerFilters {
  /** Customer ids starting with this text. */
  readonly idPrefix?: string;
  readonly minOrders?: number;
  readonly minNetMinor?: number;
  /** Lifecycle stage as of now. */
  readonly stage?: LifecycleStage;
}

export class ListCustomersQuery extends Query<CustomerPage> {
  constructor(
    readonly cursor: string | undefined,
    readonly limit: number,
    readonly filters: CustomerFilters = {},
  ) {
    super();
  }
}
