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
      { ...base, type: 'consent', purpose: 'email_marketing', status: 'granted', source: 'checkout', policyVersion: '2026-05' },
      { type: 'consent', anonymousId: 'a1', occurredAt: '2026-11-28T10:00:00Z', channel: 'web', purpose: 'sms_offers', status: 'withdrawn' },
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

  it('names the consent field and the reason', () => {
    const reasons = (raw: unknown) => {
      const r = parseEvent(raw, now);
      return r.ok ? [] : r.errors;
    };
    const consent = { ...base, type: 'consent', purpose: 'analytics', status: 'granted' };
    expect(reasons({ ...consent, purpose: 'Email Marketing' })).toEqual([{ field: 'purpose', message: expect.stringContaining('a–z, 0–9 and _') }]);
    expect(reasons({ ...consent, purpose: undefined })).toEqual([{ field: 'purpose', message: expect.stringContaining('email_marketing, personalization, analytics') }]);
    expect(reasons({ ...consent, status: 'revoked' })).toEqual([{ field: 'status', message: expect.stringContaining('granted, withdrawn') }]);
    expect(reasons({ ...consent, source: '' }).map((e) => e.field)).toEqual(['source']);
    expect(reasons({ ...consent, policyVersion: 'v'.repeat(129) }).map((e) => e.field)).toEqual(['policyVersion']);
    expect(reasons({ ...consent, purpose: '__proto__' }).map((e) => e.field)).toEqual(['purpose']);
    expect(reasons({ ...consent, customerId: undefined }).map((e) => e.field)).toEqual(['customerId']);
    expect(reasons({ ...consent, source: null, policyVersion: null })).toEqual([]);
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

  const purchase = (over: Record<string, unknown>) => ({ ...base, type: 'purchase', orderId: 'o', currency: 'EUR', items: [{ productId: 'p', quantity: 1, unitPriceMinor: 100 }], totalMinor: 100, ...over });

  it('reads null for an optional field as absent, and null for a required one as missing', () => {
    const r = parseEvent({ ...base, type: 'view', productId: 'p', anonymousId: null, category: null, priceMinor: null, currency: null, context: null, id: null }, now);
    expect(r.ok && r.input).toEqual({ ...base, type: 'view', productId: 'p' });
    const item = parseEvent(purchase({ items: [{ productId: 'p', category: null, quantity: 1, unitPriceMinor: 100 }], referralCode: null }), now);
    expect(item.ok && item.input).toEqual(purchase({ items: [{ productId: 'p', quantity: 1, unitPriceMinor: 100 }] }));
    expect(fieldsOf({ ...base, type: 'view', productId: null })).toEqual(['productId']);
    expect(fieldsOf({ ...base, type: 'referral', referralCode: 'R1', refereeId: null })).toEqual([]);
  });

  it('never takes customerId: null for a customer (no stream customer-null)', () => {
    expect(fieldsOf({ ...base, type: 'view', productId: 'p', customerId: null })).toEqual(['customerId']);
    const r = parseEvent({ ...base, type: 'view', productId: 'p', customerId: null, anonymousId: 'a1' }, now);
    expect(r.ok && r.input).toEqual({ type: 'view', productId: 'p', anonymousId: 'a1', occurredAt: base.occurredAt, channel: 'web' });
    expect(fieldsOf({ ...base, type: 'identify', anonymousId: null })).toEqual(['anonymousId']);
  });

  it.each([
    ['customerId', ''],
    ['customerId', 'x'.repeat(129)],
    ['customerId', '__proto__'],
    ['customerId', 'a b'],
    ['customerId', 'ü'],
    ['customerId', 42],
    ['anonymousId', '-a'],
    ['productId', 'p/1'],
    ['productId', ''],
  ])('refuses %s %j (not an id of the documented alphabet)', (field, value) => {
    expect(fieldsOf({ ...base, type: 'view', productId: 'p', [field]: value })).toContain(field);
  });

  it('accepts ids of the whole alphabet up to 128 characters', () => {
    for (const id of ['a', 'x'.repeat(128), 'A.b_c:d@e+f-9', 'ada+shop@example.com', 'null', '0']) {
      expect(fieldsOf({ ...base, customerId: id, type: 'referral', referralCode: id, refereeId: id })).toEqual([]);
      expect(fieldsOf(purchase({ orderId: id, items: [{ productId: id, quantity: 1, unitPriceMinor: 100 }] }))).toEqual([]);
    }
  });

  it.each([
    [purchase({ items: [{ productId: 'p', quantity: 1, unitPriceMinor: 1e21 }], totalMinor: 1e21 }), 'items[0].unitPriceMinor'],
    [purchase({ items: [{ productId: 'p', quantity: 1, unitPriceMinor: 1e308 }], totalMinor: 1e308 }), 'items[0].unitPriceMinor'],
    [purchase({ items: [{ productId: 'p', quantity: 1_000_000, unitPriceMinor: 1e12 }], totalMinor: 1e18 }), 'items[0].unitPriceMinor'],
    [purchase({ items: [{ productId: 'p', quantity: 1, unitPriceMinor: 6e11 }, { productId: 'q', quantity: 1, unitPriceMinor: 6e11 }], totalMinor: 1.2e12 }), 'totalMinor'],
    [purchase({ shippingMinor: 1e12 + 1, totalMinor: 1e12 + 101 }), 'shippingMinor'],
    [purchase({ discountMinor: 101, totalMinor: -1 }), 'totalMinor'],
    [{ ...base, type: 'return', orderId: 'o', items: [{ productId: 'p', quantity: 1 }], refundMinor: 1e21, currency: 'EUR' }, 'refundMinor'],
    [{ ...base, type: 'return', orderId: 'o', items: [{ productId: 'p', quantity: 1_000_001 }], refundMinor: 1, currency: 'EUR' }, 'items[0].quantity'],
    [{ ...base, type: 'view', productId: 'p', priceMinor: 1e308 }, 'priceMinor'],
    [{ ...base, type: 'view', productId: 'p', priceMinor: Number.MAX_SAFE_INTEGER }, 'priceMinor'],
    [{ ...base, type: 'view', productId: 'p', occurredAt: '1969-12-31T23:59:59Z' }, 'occurredAt'],
    [{ ...base, type: 'return', orderId: 'o', items: [[]], refundMinor: 0, currency: 'EUR' }, 'items[0]'],
    [purchase({ items: [[{ productId: 'p', quantity: 1, unitPriceMinor: 100 }]] }), 'items[0]'],
    [purchase({ currency: 'eur' }), 'currency'],
    [JSON.parse('{"type":"view","customerId":"c1","occurredAt":"2026-11-28T10:00:00Z","channel":"web","productId":"p","constructor":{}}'), 'constructor'],
  ])('bounds money, quantities and time: %j at %s', (raw, field) => {
    expect(fieldsOf(raw)).toContain(field);
  });

  it('accepts money up to the stated maximum', () => {
    expect(fieldsOf(purchase({ items: [{ productId: 'p', quantity: 1000, unitPriceMinor: 1e9 }], totalMinor: 1e12 }))).toEqual([]);
    expect(fieldsOf(purchase({ items: [{ productId: 'p', quantity: 1, unitPriceMinor: 1e12 }], discountMinor: 1e12, shippingMinor: 1e12, totalMinor: 1e12 }))).toEqual([]);
    expect(fieldsOf({ ...base, type: 'return', orderId: 'o', items: [{ productId: 'p', quantity: 1 }], refundMinor: 1e12, currency: 'EUR' })).toEqual([]);
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
