import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { LoyaltyLedgerView } from '@cairn/domain';
import { LoyaltyReader } from '../loyalty.reader';
import { GetLedgerQuery } from './get-ledger.query';

@QueryHandler(GetLedgerQuery)
export class GetLedgerHandler implements IQueryHandler<GetLedgerQuery, LoyaltyLedgerView> {
  constructor(
    @Inject(LoyaltyReader) private readonly reader: LoyaltyReader,
  ) {}

  async execute(q: GetLedgerQuery): Promise<LoyaltyLedgerView> {
    const { ledger: l } = await this.reader.ledger(q.customerId, q.asOf);
    return {
      customerId: l.customerId,
      asOf: l.asOf,
      programVersion: l.programVersion,
      balance: l.balance,
      movements: l.movements,
      tierHistory: l.tierHistory,
      withheld: l.withheld,
      ignored: l.ignored,
      corrections: l.corrections,
    };
  }
}
