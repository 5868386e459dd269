import { Query } from '@nestjs/cqrs';
import type { ProfileView } from '../profile.view';

export class GetCustomerQuery extends Query<ProfileView> {
  constructor(readonly customerId: string) {
    super();
  }
}
