import { Query } from '@nestjs/cqrs';
import type { LoyaltyLedgerView } from '@cairn/domain';

export class GetLedgerQuery extends Query<LoyaltyLedgerView> {
  constructor(
    readonly customerId: string,
    readonly asOf: string,
  ) {
    super();
  }
}
