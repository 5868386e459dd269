import { Query } from '@nestjs/cqrs';
import type { rfmHistory } from '@cairn/projections';

export type RfmHistory = { customerId: string; history: Awaited<ReturnType<typeof rfmHistory>> };

/** A customer's RFM scores in every finished run (merged ids resolve to the surviving person). */
export class GetRfmHistoryQuery extends Query<RfmHistory> {
  constructor(readonly customerId: string) {
    super();
  }
}
