import { Query } from '@nestjs/cqrs';
import type { LoyaltyLedgerView } from '@cairn/domain';

export class GetLedgerQuery extends Query<{ result: LoyaltyLedgerView; stale: boolean }> {
  constructor(
    readonly customerId: string,
    readonly asOf: string,
    readonly minPosition: bigint | undefined,
    readonly allowStale: boolean,
  ) {
    super();
  }
}
