import { Query } from '@nestjs/cqrs';
import type { ProfileView } from '../profile.view';

export class GetCustomerQuery extends Query<{ profile: ProfileView; stale: boolean }> {
  constructor(
    readonly customerId: string,
    readonly minPosition: bigint | undefined,
    readonly allowStale: boolean,
  ) {
    super();
  }
}
