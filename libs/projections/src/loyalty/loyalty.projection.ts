import { toLoyaltyFact, type LoyaltyFact, type RecordedCairnEvent } from '@cairn/domain';
import type { Projection } from '../projection';
import { saveLoyaltyFacts } from './loyalty.store';

/**
 * Loyalty facts v1: keeps each customer's purchases, returns, reviews and referrals (compact, by
 * customerId) and the referral links between customers. Insert-only and keyed by event id, so the
 * rows are the same whatever the arrival order; the ledger is computed from them on read.
 */
export function loyaltyProjection(): Projection {
  return {
    name: 'loyalty',
    version: 1,
    async applyBatch(trx, events: readonly RecordedCairnEvent[]) {
      const facts: LoyaltyFact[] = [];
      for (const e of events) {
        const f = toLoyaltyFact(e);
        if (f !== null) facts.push(f);
      }
      await saveLoyaltyFacts(trx, facts);
    },
  };
}
