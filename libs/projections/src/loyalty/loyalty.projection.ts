import { toLoyaltyFact } from '@cairn/domain';
import { factsProjection, isIngestEvent, type Projection, type Row } from '../projection';
import { linksOf, loyaltyFactRow } from './loyalty.store';

/**
 * Loyalty facts v1: keeps each customer's purchases, returns, reviews and referrals (compact, by
 * customerId) and the referral links between customers. Insert-only and keyed by event id, so the
 * rows are the same whatever the arrival order; the ledger is computed from them on read.
 */
export function loyaltyProjection(): Projection {
  return factsProjection({
    name: 'loyalty',
    version: 1,
    tables: [
      { table: 'loyalty_facts', key: ['customer_id', 'fact_id'], columns: ['customer_id', 'fact_id', 'kind', 'occurred_at', 'doc'], mode: 'insert' },
      { table: 'loyalty_links', key: ['kind', 'key', 'customer_id', 'fact_id'], columns: ['kind', 'key', 'customer_id', 'fact_id'], mode: 'insert' },
    ],
    rowsOf(e, out) {
      if (!isIngestEvent(e)) return;
      const f = toLoyaltyFact(e);
      if (f === null) return;
      out.put('loyalty_facts', loyaltyFactRow(f) as unknown as Row);
      for (const link of linksOf(f)) out.put('loyalty_links', link as unknown as Row);
    },
  });
}
