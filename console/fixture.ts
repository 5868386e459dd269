/**
 * A small shop history for the console's browser e2e, dated relative to now so every page has
 * something to show: 40 customers over the last 200 days (purchases, a few returns, reviews, a
 * referral), one visitor identified as c-001 after two anonymous views. Deterministic given `now`.
 */
import { randomUUID } from 'crypto';

const DAY = 86_400_000;

export function consoleFixture(now = Date.now()): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  const at = (daysAgo: number, hour = 10) => new Date(Math.floor((now - daysAgo * DAY) / DAY) * DAY + hour * 3_600_000).toISOString();
  const add = (e: Record<string, unknown>) => events.push({ id: randomUUID(), channel: 'web', ...e });
  for (let i = 1; i <= 40; i++) {
    const customerId = `c-${String(i).padStart(3, '0')}`;
    const first = 5 + ((i * 37) % 190);
    const orders = 1 + (i % 4);
    for (let o = 0; o < orders; o++) {
      const daysAgo = Math.max(1, first - o * (7 + (i % 5) * 9));
      const price = 1500 + ((i * 13 + o * 7) % 40) * 250;
      const qty = 1 + ((i + o) % 2);
      add({ type: 'purchase', customerId, occurredAt: at(daysAgo), orderId: `${customerId}-o${o + 1}`, currency: 'USD', items: [{ productId: `sku-${(i + o) % 9}`, category: i % 2 ? 'shoes' : 'shirts', quantity: qty, unitPriceMinor: price }], totalMinor: price * qty });
      if (o === 0 && i % 7 === 0) add({ type: 'return', customerId, occurredAt: at(daysAgo - 1, 12), orderId: `${customerId}-o1`, items: [{ productId: `sku-${i % 9}`, quantity: 1 }], refundMinor: price, currency: 'USD', reason: 'too small' });
    }
    if (i % 5 === 0) add({ type: 'review', customerId, occurredAt: at(Math.max(1, first - 2), 15), productId: `sku-${i % 9}`, rating: 1 + (i % 5), title: 'Fine' });
  }
  add({ type: 'view', anonymousId: 'a-visitor-1', occurredAt: at(first1() + 1, 9), productId: 'sku-1', category: 'shoes' });
  add({ type: 'view', anonymousId: 'a-visitor-1', occurredAt: at(first1() + 1, 9.5), productId: 'sku-2', category: 'shoes' });
  add({ type: 'identify', customerId: 'c-001', anonymousId: 'a-visitor-1', occurredAt: at(first1(), 9), traits: { country: 'DE' } });
  // Consent of c-001: analytics given as a visitor (linked by the identify), email marketing given at checkout, later withdrawn.
  add({ type: 'consent', anonymousId: 'a-visitor-1', occurredAt: at(first1() + 1, 9), purpose: 'analytics', status: 'granted', source: 'cookie-banner', policyVersion: '2026-01' });
  add({ type: 'consent', customerId: 'c-001', occurredAt: at(first1(), 10), purpose: 'email_marketing', status: 'granted', source: 'checkout', policyVersion: '2026-01' });
  add({ type: 'consent', customerId: 'c-001', occurredAt: at(4), purpose: 'email_marketing', status: 'withdrawn', source: 'preference-center' });
  add({ type: 'referral', customerId: 'c-002', occurredAt: at(3), referralCode: 'C002-FRIENDS', refereeId: 'c-041' });
  add({ type: 'purchase', customerId: 'c-041', occurredAt: at(2), orderId: 'c-041-o1', currency: 'USD', referralCode: 'C002-FRIENDS', items: [{ productId: 'sku-3', category: 'shoes', quantity: 1, unitPriceMinor: 4200 }], totalMinor: 4200 });
  return events;
}

/** c-001's first purchase, in days before now (see the loop above). */
function first1(): number {
  return 5 + (37 % 190);
}
