import { Cairn } from './client';
import { CairnValidationError } from './errors';
import { FakeServer } from './testing/fakes';

function client(): Cairn {
  return new Cairn({ writeKey: 'k', host: 'http://cairn.test', channel: 'web', fetch: new FakeServer().fetch, browser: false });
}
function errorOf(fn: () => unknown): CairnValidationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CairnValidationError);
    return err as CairnValidationError;
  }
  throw new Error('expected a CairnValidationError');
}
const items = [{ productId: 'p1', quantity: 2, unitPriceMinor: 1000 }];

describe('client-side validation', () => {
  const c = client();
  afterAll(() => c.closeAndFlush({ timeoutMs: 10 }));

  it('requires customerId or anonymousId', () => {
    const e = errorOf(() => c.view({ productId: 'p1' }));
    expect(e.field).toBe('customerId');
    expect(e.reason).toMatch(/customerId or anonymousId/);
    expect(e.message).toBe(`customerId: ${e.reason}`);
  });
  it('refuses money that is not a safe integer', () => {
    expect(errorOf(() => c.view({ customerId: 'c', productId: 'p', priceMinor: 9.99 })).field).toBe('priceMinor');
    expect(
      errorOf(() => c.purchase({ customerId: 'c', orderId: 'o', currency: 'EUR', items: [{ productId: 'p', quantity: 1, unitPriceMinor: 2 ** 53 }], totalMinor: 2 ** 53 })).field,
    ).toBe('items[0].unitPriceMinor');
    expect(errorOf(() => c.return({ customerId: 'c', orderId: 'o', currency: 'EUR', items: [{ productId: 'p', quantity: 1 }], refundMinor: 1.5 })).field).toBe('refundMinor');
  });
  it('refuses a purchase whose total does not add up', () => {
    const e = errorOf(() => c.purchase({ customerId: 'c', orderId: 'o', currency: 'EUR', items, shippingMinor: 500, totalMinor: 2000 }));
    expect(e.field).toBe('totalMinor');
    expect(e.reason).toMatch(/= 2500, got 2000/);
    expect(() => c.purchase({ customerId: 'c', orderId: 'o', currency: 'EUR', items, shippingMinor: 500, discountMinor: 100, taxMinor: 50, totalMinor: 2450 })).not.toThrow();
  });
  it('refuses ratings outside 1–5 and non-integers', () => {
    for (const rating of [0, 6, 3.5, NaN]) expect(errorOf(() => c.review({ customerId: 'c', productId: 'p', rating })).field).toBe('rating');
  });
  it('checks quantities, currencies, ids, occurredAt, channel and required fields', () => {
    expect(errorOf(() => c.purchase({ customerId: 'c', orderId: 'o', currency: 'eur', items, totalMinor: 2000 })).field).toBe('currency');
    expect(errorOf(() => c.purchase({ customerId: 'c', orderId: 'o', currency: 'EUR', items: [], totalMinor: 0 })).field).toBe('items');
    expect(
      errorOf(() => c.purchase({ customerId: 'c', orderId: 'o', currency: 'EUR', items: [{ productId: 'p', quantity: 0, unitPriceMinor: 1 }], totalMinor: 0 })).field,
    ).toBe('items[0].quantity');
    expect(errorOf(() => c.view({ customerId: 'c', productId: 'p', id: 'not-a-uuid' })).field).toBe('id');
    expect(errorOf(() => c.view({ customerId: 'c', productId: 'p', occurredAt: '2026-11-28 10:00' })).field).toBe('occurredAt');
    expect(errorOf(() => c.view({ customerId: 'c', productId: 'p', occurredAt: '2026-11-28T10:00:00' })).field).toBe('occurredAt');
    expect(errorOf(() => c.view({ customerId: 'c', productId: 'p', channel: 'tv' as never })).field).toBe('channel');
    expect(errorOf(() => c.view({ customerId: 'c', productId: '' })).field).toBe('productId');
    expect(errorOf(() => c.view({ customerId: '-bad id', productId: 'p' })).field).toBe('customerId');
    expect(errorOf(() => c.view({ customerId: 'c', productId: 'p', context: { pageUrl: 'x'.repeat(1001) } })).field).toBe('context.pageUrl');
    expect(errorOf(() => c.referral({ customerId: '', referralCode: 'R' })).field).toBe('customerId');
    expect(errorOf(() => c.identify({ customerId: 'c' })).field).toBe('anonymousId');
    expect(errorOf(() => c.review({ customerId: 'c', productId: 'p', rating: 5, body: 'x'.repeat(5001) })).field).toBe('body');
  });
  it('requires a channel outside browsers unless configured', () => {
    const bare = new Cairn({ writeKey: 'k', host: 'http://cairn.test', fetch: new FakeServer().fetch, browser: false });
    expect(errorOf(() => bare.view({ customerId: 'c', productId: 'p' })).field).toBe('channel');
    expect(() => bare.view({ customerId: 'c', productId: 'p', channel: 'app' })).not.toThrow();
    return bare.closeAndFlush({ timeoutMs: 10 });
  });
  it('fills id (UUIDv7), occurredAt (ISO with offset) and channel', () => {
    const id = c.view({ customerId: 'c', productId: 'p' });
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
  });
  it('validates options', () => {
    expect(() => new Cairn({ writeKey: '', host: 'http://x' })).toThrow(CairnValidationError);
    expect(() => new Cairn({ writeKey: 'k', host: 'ftp://x' })).toThrow(/options.host/);
  });
});
