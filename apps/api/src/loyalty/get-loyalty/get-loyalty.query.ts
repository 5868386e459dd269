import { Query } from '@nestjs/cqrs';
import type { LoyaltySummary } from '@cairn/domain';

export class GetLoyaltyQuery extends Query<LoyaltySummary> {
  constructor(
    readonly customerId: string,
    readonly asOf: string,
  ) {
    super();
  }
}
