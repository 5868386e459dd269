import fc from 'fast-check';
import { evolveProfile, type FoldableEvent, type Profile } from './profile';

const rules = { currency: 'USD' };
let n = 0;
const ev = (type: FoldableEvent['type'], occurredAt: string, extra: Record<string, unknown> = {}, channel = 'web'): FoldableEvent => ({
  id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
  type,
  data: { customerId: 'c1', occurredAt, channel, ...extra } as never,
});
const fold = (events: readonly FoldableEvent[]): Profile | undefined => events.reduce<Profile | undefined>((p, e) => evolveProfile(p, 'c1', e, rules), undefined);

describe('evolveProfile', () => {
  const purchase = (orderId: string, at: string, totalMinor: number, currency = 'USD') =>
    ev('cairn.purchase.v1', at, { orderId, currency, items: [{ productId: 'p', quantity: 1, unitPriceMinor: totalMinor }], totalMinor });

  it('counts ids and categories that are names of Object.prototype like any other', () => {
    const p = fold([
      ev('cairn.view.v1', '2026-01-01T00:00:00Z', { productId: 'p', category: 'constructor' }),
      ev('cairn.view.v1', '2026-01-01T00:00:01Z', { productId: 'p', category: '__proto__' }),
      ev('cairn.view.v1', '2026-01-01T00:00:02Z', { productId: 'p', category: '__proto__' }),
      ev('cairn.purchase.v1', '2026-01-02T00:00:00Z', { orderId: 'constructor', currency: 'USD', items: [{ productId: 'p', category: 'toString', quantity: 2, unitPriceMinor: 50 }], totalMinor: 100 }),
      ev('cairn.purchase.v1', '2026-01-03T00:00:00Z', { orderId: 'toString', currency: 'USD', items: [{ productId: 'p', category: '__proto__', quantity: 1, unitPriceMinor: 7 }], totalMinor: 7 }),
      ev('cairn.return.v1', '2026-01-04T00:00:00Z', { orderId: 'constructor', items: [{ productId: 'p', quantity: 1 }], refundMinor: 50, currency: 'USD' }),
    ])!;
    expect(p).toMatchObject({ orders: 2, grossMinor: 107, refundedMinor: 50, returnRate: { orders: 0.5 } });
    expect(p.favouriteCategories).toEqual({
      viewed: [{ category: '__proto__', count: 2 }, { category: 'constructor', count: 1 }],
      purchased: [{ category: 'toString', count: 2 }, { category: '__proto__', count: 1 }],
    });
    const again = JSON.parse(JSON.stringify(p)) as Profile;
    expect(evolveProfile(again, 'c1', ev('cairn.view.v1', '2026-01-05T00:00:00Z', { productId: 'p', category: '__proto__' }), rules).favouriteCategories.viewed[0]).toEqual({ category: '__proto__', count: 3 });
  });

  it('computes profile v1 by hand', () => {
    const p = fold([
      ev('cairn.view.v1', '2026-01-01T10:00:00+01:00', { productId: 'p' }, 'app'),
      purchase('o1', '2026-01-02T00:00:00Z', 1000),
      purchase('o2', '2026-01-05T00:00:00Z', 2001),
      ev('cairn.return.v1', '2026-01-06T00:00:00Z', { orderId: 'o2', items: [{ productId: 'p', quantity: 1 }], refundMinor: 500, currency: 'USD' }),
      ev('cairn.review.v1', '2026-01-07T00:00:00Z', { productId: 'p', rating: 5 }),
      ev('cairn.review.v1', '2026-01-08T00:00:00Z', { productId: 'p', rating: 4 }),
      ev('cairn.referral.v1', '2026-01-09T00:00:00Z', { referralCode: 'R' }, 'email'),
      purchase('o3', '2026-01-10T00:00:00Z', 999, 'EUR'),
    ])!;
    expect(p).toMatchObject({
      customerId: 'c1',
      firstSeenAt: '2026-01-01T09:00:00.000Z',
      lastSeenAt: '2026-01-10T00:00:00.000Z',
      views: 1,
      orders: 3,
      currency: 'USD',
      grossMinor: 3001,
      refundedMinor: 500,
      netMinor: 2501,
      aovMinor: 1501, // 3001 / 2 = 1500.5, rounded half up
      reviews: 2,
      averageRating: 4.5,
      referralsMade: 1,
      channels: ['app', 'email', 'web'],
      otherCurrencies: { EUR: { grossMinor: 999, refundedMinor: 0, netMinor: 999, orders: 1 } },
    });
    expect(p.lastOrder).toMatchObject({ orderId: 'o3', totalMinor: 999, currency: 'EUR' });
  });

  it('counts a re-sent order once, keeping the earliest record', () => {
    const p = fold([purchase('o1', '2026-01-02T00:00:00Z', 1000), purchase('o1', '2026-01-01T00:00:00Z', 1200)])!;
    expect(p.orders).toBe(1);
    expect(p.grossMinor).toBe(1200);
  });

  it('does not depend on arrival order (property)', () => {
    const at = fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2026, 11, 31) }).map((t) => new Date(t).toISOString());
    const event = fc.oneof(
      fc.record({ at, id: fc.constantFrom('o1', 'o2', 'o3'), total: fc.integer({ min: 0, max: 100_000 }), cur: fc.constantFrom('USD', 'EUR') }).map((x) => purchase(x.id, x.at, x.total, x.cur)),
      fc.record({ at, refund: fc.integer({ min: 0, max: 5000 }) }).map((x) => ev('cairn.return.v1', x.at, { orderId: 'o1', items: [{ productId: 'p', quantity: 1 }], refundMinor: x.refund, currency: 'USD' })),
      fc.record({ at, ch: fc.constantFrom('web', 'app', 'store') }).map((x) => ev('cairn.view.v1', x.at, { productId: 'p' }, x.ch)),
      fc.record({ at, r: fc.integer({ min: 1, max: 5 }) }).map((x) => ev('cairn.review.v1', x.at, { productId: 'p', rating: x.r })),
      at.map((a) => ev('cairn.referral.v1', a, { referralCode: 'R' })),
    );
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 30 }).chain((events) => fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }))), ([events, shuffled]) => {
        expect(fold(shuffled)).toEqual(fold(events));
      }),
      { numRuns: 200 },
    );
  });

  it('keeps money in integer minor units (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000_000 }), { minLength: 1, maxLength: 20 }), (totals) => {
        const p = fold(totals.map((t, i) => purchase(`o${i}`, '2026-01-01T00:00:00Z', t)))!;
        expect(p.grossMinor).toBe(totals.reduce((a, b) => a + b, 0));
        expect(Number.isInteger(p.aovMinor)).toBe(true);
      }),
    );
  });
});
