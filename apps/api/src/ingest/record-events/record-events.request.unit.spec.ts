import { parseEvent } from './record-events.request.dto';

const now = new Date('2026-11-28T12:00:00Z');
const base = { customerId: 'c1', occurredAt: '2026-11-28T10:00:00+01:00', channel: 'web' };
const fieldsOf = (raw: unknown) => {
  const r = parseEvent(raw, now);
  return r.ok ? [] : r.errors.map((e) => e.field);
};

describe('parseEvent (POST /v1/events validation)', () => {
  it('accepts each event kind in its documented shape', () => {
    const valid = [
      { ...base, type: 'view', productId: 'p1', category: 'shoes', priceMinor: 1999, currency: 'EUR' },
      { ...base, type: 'purchase', orderId: 'o1', currency: 'EUR', items: [{ productId: 'p1', quantity: 2, unitPriceMinor: 1000 }], discountMinor: 500, shippingMinor: 300, taxMinor: 200, totalMinor: 2000 },
      { ...base, type: 'return', orderId: 'o1', items: [{ productId: 'p1', quantity: 1 }], refundMinor: 1000, currency: 'EUR', reason: 'too small' },
      { ...base, type: 'review', productId: 'p1', rating: 5, title: 'Great', body: 'x'.repeat(5000) },
      { ...base, type: 'referral', referralCode: 'R1', refereeId: 'c2' },
      { ...base, type: 'identify', anonymousId: 'a1', traits: { email: 'a@b.c', country: 'DE' } },
      { type: 'view', anonymousId: 'a1', occurredAt: '2026-11-28T10:00:00Z', channel: 'app', productId: 'p1' },
    ];
    for (const raw of valid) {
      const r = parseEvent(raw, now);
      expect(r.ok ? 'ok' : r.errors).toBe('ok');
    }
  });

  it('keeps the client id and strips nothing it accepted', () => {
    const id = '0192f3a4-5b6c-7d8e-9f01-23456789abcd';
    const r = parseEvent({ ...base, id, type: 'view', productId: 'p1', context: { locale: 'de-DE', campaign: 'bf' } }, now);
    expect(r.ok && r.input).toEqual({ ...base, id, type: 'view', productId: 'p1', context: { locale: 'de-DE', campaign: 'bf' } });
  });

  it('names the field and the reason', () => {
    const r = parseEvent({ ...base, type: 'review', productId: 'p1', rating: 6 }, now);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors[0]).toEqual({ field: 'rating', message: expect.stringContaining('5') });
  });

  it.each([
    [{ ...base, type: 'purchase', orderId: 'o', currency: 'EUR', items: [{ productId: 'p', quantity: 1, unitPriceMinor: 100 }], totalMinor: 99 }, 'totalMinor'],
    [{ ...base, type: 'purchase', orderId: 'o', currency: 'EURO', items: [{ productId: 'p', quantity: 1, unitPriceMinor: 100 }], totalMinor: 100 }, 'currency'],
    [{ ...base, type: 'purchase', orderId: 'o', currency: 'EUR', items: [], totalMinor: 0 }, 'items'],
    [{ ...base, type: 'purchase', orderId: 'o', currency: 'EUR', items: [{ productId: 'p', quantity: 1, unitPriceMinor: 10.5 }], totalMinor: 10 }, 'items[0].unitPriceMinor'],
    [{ ...base, type: 'purchase', orderId: 'o', currency: 'EUR', items: [{ productId: 'p', quantity: 0, unitPriceMinor: 1 }], totalMinor: 0 }, 'items[0].quantity'],
    [{ ...base, type: 'purchase', orderId: 'o', currency: 'EUR', items: [{ productId: 'p', quantity: 1, unitPriceMinor: 1 }], totalMinor: 1, discountMinor: -1 }, 'discountMinor'],
    [{ ...base, type: 'return', orderId: 'o', items: [{ productId: 'p', quantity: 1 }], refundMinor: '10', currency: 'EUR' }, 'refundMinor'],
    [{ ...base, type: 'review', productId: 'p', rating: 3.5 }, 'rating'],
    [{ ...base, type: 'review', productId: 'p', rating: 3, body: 'x'.repeat(5001) }, 'body'],
    [{ ...base, type: 'view', productId: 'p', customerId: undefined }, 'customerId'],
    [{ ...base, type: 'identify', anonymousId: undefined }, 'anonymousId'],
    [{ type: 'referral', anonymousId: 'a', occurredAt: base.occurredAt, channel: 'web', referralCode: 'r' }, 'customerId'],
    [{ ...base, type: 'view', productId: 'p', occurredAt: '2026-11-28T10:00:00' }, 'occurredAt'],
    [{ ...base, type: 'view', productId: 'p', occurredAt: '2026-11-29T12:00:01Z' }, 'occurredAt'],
    [{ ...base, type: 'view', productId: 'p', occurredAt: '2026-02-30T10:00:00Z' }, 'occurredAt'],
    [{ ...base, type: 'view', productId: 'p', channel: 'fax' }, 'channel'],
    [{ ...base, type: 'view', productId: 'p', id: 'not-a-uuid' }, 'id'],
    [{ ...base, type: 'view', productId: 'p', surprise: 1 }, 'surprise'],
    [{ ...base, type: 'view', productId: 'p', context: { nested: { a: 1 } } }, 'context.nested'],
    [{ ...base, type: 'view', productId: 'p', customerId: ' spaced id' }, 'customerId'],
    [{ ...base, type: 'unknown' }, 'type'],
  ])('rejects %j at %s', (raw, field) => {
    expect(fieldsOf(raw)).toContain(field);
  });

  it('treats a JSON __proto__ key as an unknown field, never as a prototype', () => {
    const raw = JSON.parse('{"type":"review","customerId":"c1","occurredAt":"2026-11-28T10:00:00Z","channel":"web","productId":"p","rating":9,"__proto__":{"rating":3}}');
    expect(fieldsOf(raw)).toEqual(expect.arrayContaining(['rating', '__proto__']));
  });

  it('accepts an occurredAt up to 24 hours ahead', () => {
    expect(fieldsOf({ ...base, type: 'view', productId: 'p', occurredAt: '2026-11-29T11:59:59Z' })).toEqual([]);
  });

  it('never throws on hostile input', () => {
    for (const raw of [null, 1, 'x', [], [1], { type: { toString: 1 } }, { __proto__: { type: 'view' } }, { type: 'view', items: 'x' }, { type: 'purchase', items: [null] }]) {
      expect(() => parseEvent(raw, now)).not.toThrow();
      expect(parseEvent(raw, now).ok).toBe(false);
    }
  });
});
