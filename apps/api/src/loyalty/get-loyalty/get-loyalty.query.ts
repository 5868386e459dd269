import { Query } from '@nestjs/cqrs';
import type { LoyaltySummary } from '@cairn/domain';

export class GetLoyaltyQuery extends Query<{ result: LoyaltySummary; stale: boolean }> {
  constructor(
    readonly customerId: string,
    readonly asOf: string,
    readonly minPosition: bigint | undefined,
    readonly allowStale: boolean,
  ) {
    super();
  }
}
