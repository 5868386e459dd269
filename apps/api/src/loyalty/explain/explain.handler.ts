import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { explainLedger, type Explanation } from '@cairn/domain';
import { LoyaltyReader } from '../loyalty.reader';
import { ExplainQuery } from './explain.query';

@QueryHandler(ExplainQuery)
export class ExplainHandler implements IQueryHandler<ExplainQuery, Explanation> {
  constructor(
    @Inject(LoyaltyReader) private readonly reader: LoyaltyReader,
  ) {}

  async execute(q: ExplainQuery): Promise<Explanation> {
    const { ledger } = await this.reader.ledger(q.customerId, q.asOf);
    return explainLedger(ledger);
  }
}
