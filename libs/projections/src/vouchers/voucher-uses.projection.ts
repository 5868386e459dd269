/**
 * Voucher uses v1: every purchase carrying a `couponCode` becomes one insert-only row keyed by
 * event id. Whether a use redeems a voucher (its customer's first use by business time, between
 * issue and expiry) or is flagged is decided on read (`redemptions` in libs/domain), so the rows
 * are the same whatever the arrival order. Only codes that can be Cairn's vouchers are kept: no other
 * code can redeem or be flagged, and a shop's own coupon codes may hold anything the ingest accepts
 * (a NUL, which a PostgreSQL text column refuses).
 */
import { isVoucherCode, type PurchasedV1 } from '@cairn/domain';
import { factsProjection, isIngestEvent, type Projection } from '../projection';

export function voucherUsesProjection(): Projection {
  return factsProjection({
    name: 'voucher-uses',
    version: 1,
    tables: [{ table: 'voucher_uses', key: ['event_id'], columns: ['event_id', 'code', 'customer_id', 'order_id', 'occurred_at', 'total_minor', 'currency'], mode: 'insert' }],
    rowsOf(e, out) {
      if (!isIngestEvent(e) || e.type !== 'cairn.purchase.v1') return;
      const d = e.data as PurchasedV1['data'];
      if (typeof d.couponCode !== 'string' || !isVoucherCode(d.couponCode)) return;
      const ms = Date.parse(d.occurredAt);
      if (Number.isNaN(ms)) return;
      out.put('voucher_uses', { event_id: e.id, code: d.couponCode, customer_id: d.customerId ?? null, order_id: d.orderId, occurred_at: new Date(ms).toISOString(), total_minor: d.totalMinor, currency: d.currency });
    },
  });
}
