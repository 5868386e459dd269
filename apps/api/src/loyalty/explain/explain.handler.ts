import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { explainLedger, type Explanation } from '@cairn/domain';
import { awaitPosition } from '../../customers/read-your-writes';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { LoyaltyReader } from '../loyalty.reader';
import { ExplainQuery } from './explain.query';

@QueryHandler(ExplainQuery)
export class ExplainHandler implements IQueryHandler<ExplainQuery, { result: Explanation; stale: boolean }> {
  constructor(
    @Inject(RUNTIME) private readonly runtime: CairnRuntime,
    @Inject(LoyaltyReader) private readonly reader: LoyaltyReader,
  ) {}

  async execute(q: ExplainQuery): Promise<{ result: Explanation; stale: boolean }> {
    const stale = await awaitPosition(this.runtime, q.minPosition, q.allowStale);
    const { ledger } = await this.reader.ledger(q.customerId, q.asOf);
    return { result: explainLedger(ledger), stale };
  }
}
