import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { LoyaltyLedgerView } from '@cairn/domain';
import { awaitPosition } from '../../customers/read-your-writes';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { LoyaltyReader } from '../loyalty.reader';
import { GetLedgerQuery } from './get-ledger.query';

@QueryHandler(GetLedgerQuery)
export class GetLedgerHandler implements IQueryHandler<GetLedgerQuery, { result: LoyaltyLedgerView; stale: boolean }> {
  constructor(
    @Inject(RUNTIME) private readonly runtime: CairnRuntime,
    @Inject(LoyaltyReader) private readonly reader: LoyaltyReader,
  ) {}

  async execute(q: GetLedgerQuery): Promise<{ result: LoyaltyLedgerView; stale: boolean }> {
    const stale = await awaitPosition(this.runtime, q.minPosition, q.allowStale);
    const { ledger: l } = await this.reader.ledger(q.customerId, q.asOf);
    return {
      result: {
        customerId: l.customerId,
        asOf: l.asOf,
        programVersion: l.programVersion,
        balance: l.balance,
        movements: l.movements,
        tierHistory: l.tierHistory,
        withheld: l.withheld,
        ignored: l.ignored,
        corrections: l.corrections,
      },
      stale,
    };
  }
}
