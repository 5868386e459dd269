import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { resolveCustomer, rfmHistory } from '@cairn/projections';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { GetRfmHistoryQuery, type RfmHistory } from './get-rfm-history.query';

@QueryHandler(GetRfmHistoryQuery)
export class GetRfmHistoryHandler implements IQueryHandler<GetRfmHistoryQuery, RfmHistory> {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  async execute(q: GetRfmHistoryQuery): Promise<RfmHistory> {
    const db = this.runtime.readStore.db;
    const person = await resolveCustomer(db, q.customerId, this.runtime.config.identitySharedDeviceLimit);
    const customerId = person?.customerId ?? q.customerId;
    return { customerId, history: await rfmHistory(db, customerId) };
  }
}
