import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { LoyaltySummary } from '@cairn/domain';
import { LoyaltyReader } from '../loyalty.reader';
import { GetLoyaltyQuery } from './get-loyalty.query';

@QueryHandler(GetLoyaltyQuery)
export class GetLoyaltyHandler implements IQueryHandler<GetLoyaltyQuery, LoyaltySummary> {
  constructor(
    @Inject(LoyaltyReader) private readonly reader: LoyaltyReader,
  ) {}

  async execute(q: GetLoyaltyQuery): Promise<LoyaltySummary> {
    const { ledger: l } = await this.reader.ledger(q.customerId, q.asOf);
    const tier = l.tier === null ? null : (({ contributions: _c, ...t }) => t)(l.tier);
    return {
      customerId: l.customerId,
      asOf: l.asOf,
      programVersion: l.programVersion,
      balance: l.balance,
      lifetimeEarned: l.lifetimeEarned,
      redeemed: l.redeemed,
      expired: l.expired,
      takenBack: l.takenBack,
      adjusted: l.adjusted,
      writtenOff: l.writtenOff,
      tier,
      corrections: l.corrections.length,
      withheld: l.withheld.length,
    };
  }
}
