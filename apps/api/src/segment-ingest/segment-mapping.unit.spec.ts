import fc from 'fast-check';
import { uuidV5 } from '@cairn/domain';
import { checkSegmentMessage, currencyExponent, eventIdOfMessage, mapSegmentMessage, segmentFieldOf, toMinorUnits } from './segment-mapping';

const ctx = { receivedAt: new Date('2026-12-02T10:00:00Z'), defaultCurrency: 'USD' };

describe('Segment mapping', () => {
  it('converts major to minor units per the currency exponent, on the decimal as written', () => {
    expect([currencyExponent('USD'), currencyExponent('JPY'), currencyExponent('KWD')]).toEqual([2, 0, 3]);
    expect(toMinorUnits(19.99, 'USD')).toBe(1999);
    expect(toMinorUnits(1.005, 'EUR')).toBe(101); // 1.005 * 100 is 100.49999999999999 in binary
    expect(toMinorUnits(1500, 'JPY')).toBe(1500);
    expect(toMinorUnits(1.234, 'KWD')).toBe(1234);
    // Any amount written with the currency's decimals converts exactly.
    fc.assert(fc.property(fc.integer({ min: 0, max: 10 ** 12 }), (cents) => toMinorUnits(Number((cents / 100).toFixed(2)), 'USD') === cents));
  });

  it('makes a stable UUID v5 from messageId (RFC 4122 test vector: DNS namespace, www.example.com)', () => {
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
    expect(eventIdOfMessage('m-1')).toBe(eventIdOfMessage('m-1'));
    expect(eventIdOfMessage('m-1')).not.toBe(eventIdOfMessage('m-2'));
  });

  it('maps Order Completed to a purchase whose total adds up, coupon and money in minor units', () => {
    const m = mapSegmentMessage(
      {
        type: 'track',
        event: 'Order Completed',
        userId: 'c-1',
        messageId: 'm-1',
        timestamp: '2026-12-01T09:00:00+01:00',
        properties: { order_id: 'o-1', total: 27.5, revenue: 25, shipping: 3, tax: 2, discount: 2.5, coupon: 'WINBACK', currency: 'eur', products: [{ product_id: 'p1', price: 19, quantity: 1, category: 'shoes' }, { sku: 'p2', price: 3, quantity: 2 }] },
      },
      ctx,
    );
    expect(m).toEqual({
      outcome: 'mapped',
      event: {
        type: 'purchase',
        id: eventIdOfMessage('m-1'),
        customerId: 'c-1',
        occurredAt: '2026-12-01T08:00:00.000Z',
        channel: 'web',
        orderId: 'o-1',
        currency: 'EUR',
        items: [{ productId: 'p1', category: 'shoes', quantity: 1, unitPriceMinor: 1900 }, { productId: 'p2', quantity: 2, unitPriceMinor: 300 }],
        shippingMinor: 300,
        taxMinor: 200,
        discountMinor: 250,
        totalMinor: 2750,
        couponCode: 'WINBACK',
      },
    });
  });

  it('maps views, refunds, reviews and identify; other track events are custom; page calls are unmapped', () => {
    const view = mapSegmentMessage({ type: 'track', event: 'Product Viewed', anonymousId: 'a-1', context: { channel: 'app' }, properties: { product_id: 'p1', price: 5, currency: 'JPY' } }, ctx);
    expect(view).toMatchObject({ outcome: 'mapped', event: { type: 'view', anonymousId: 'a-1', channel: 'app', productId: 'p1', priceMinor: 5, currency: 'JPY', occurredAt: ctx.receivedAt.toISOString() } });
    const refund = mapSegmentMessage({ type: 'track', event: 'Order Refunded', userId: 'c-1', properties: { order_id: 'o-1', products: [{ product_id: 'p1', price: 19, quantity: 1 }] } }, ctx);
    expect(refund).toMatchObject({ outcome: 'mapped', event: { type: 'return', orderId: 'o-1', items: [{ productId: 'p1', quantity: 1 }], refundMinor: 1900, currency: 'USD' } });
    const review = mapSegmentMessage({ type: 'track', event: 'Product Reviewed', userId: 'c-1', properties: { product_id: 'p1', rating: 4, review_body: 'ok' } }, ctx);
    expect(review).toMatchObject({ outcome: 'mapped', event: { type: 'review', productId: 'p1', rating: 4, body: 'ok' } });
    const identify = mapSegmentMessage({ userId: 'c-1', anonymousId: 'a-1', traits: { email: 'a@example.com', address: { city: 'Berlin' }, tags: ['x'] } }, ctx, 'identify');
    expect(identify).toMatchObject({ outcome: 'mapped', event: { type: 'identify', traits: { email: 'a@example.com', 'address.city': 'Berlin' } } });
    expect(mapSegmentMessage({ userId: 'c-1' }, ctx, 'identify')).toMatchObject({ outcome: 'rejected', errors: [{ field: 'anonymousId' }] });
    // Other track events: a custom event (name, flat properties) by default, unmapped when the setting says reject.
    expect(mapSegmentMessage({ type: 'track', event: 'Signed Up', userId: 'c-1', properties: { plan: 'pro', seats: 3, utm: { source: 'ads' }, tags: ['a'] } }, ctx)).toMatchObject({
      outcome: 'mapped',
      event: { type: 'custom', customerId: 'c-1', name: 'Signed Up', properties: { plan: 'pro', seats: 3, 'utm.source': 'ads' } },
    });
    expect(mapSegmentMessage({ type: 'track', event: 'Signed Up', userId: 'c-1' }, { ...ctx, customEvents: 'reject' })).toMatchObject({ outcome: 'unmapped' });
    expect(mapSegmentMessage({ type: 'page', userId: 'c-1' }, ctx)).toMatchObject({ outcome: 'unmapped' });
    expect(mapSegmentMessage({ type: 'track', event: 'Order Completed', userId: 'c-1', properties: { order_id: 'o', products: [{ product_id: 'p' }] } }, ctx)).toEqual({
      outcome: 'rejected',
      errors: [{ field: 'properties.products[0].price', message: 'price is required for an order' }],
    });
  });

  it('names malformed fields by their path in the payload', () => {
    expect(checkSegmentMessage({ type: 'track', event: 'Order Completed', userId: 'c', properties: { products: [{ price: '9.99' }] } }, 'batch[3]')).toEqual([
      { field: 'batch[3].properties.products[0].price', message: 'must be a number' },
    ]);
    expect(checkSegmentMessage({ type: 'track' }, 'batch[0]').map((e) => e.field)).toEqual(['batch[0].userId', 'batch[0].event']);
    expect(checkSegmentMessage({ type: 'shout', userId: 'c', timestamp: 'yesterday' }, '').map((e) => e.field)).toEqual(['type', 'timestamp']);
    expect(checkSegmentMessage('x', '', 'track')).toEqual([{ field: 'body', message: 'must be a JSON object (a Segment message)' }]);
    expect(segmentFieldOf('items[2].unitPriceMinor')).toBe('properties.products[2].price');
    expect(segmentFieldOf('rating')).toBe('properties.rating');
  });
});
