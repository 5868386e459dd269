import { Cairn } from './client';
import { CairnValidationError } from './errors';
import { FakeServer } from './testing/fakes';
import type { RejectedReport } from './types';
import { CONSENT_STATUSES, LIMITS } from './validate';
import * as catalogue from '../../domain/src/events';

let rejections: RejectedReport[] = [];
/** A client whose `rejected` reports errorOf reads. */
function watched(c: Cairn): Cairn {
  c.on('rejected', (r) => rejections.push(r));
  return c;
}
function client(): Cairn {
  return watched(new Cairn({ writeKey: 'k', host: 'http://cairn.test', channel: 'web', fetch: new FakeServer().fetch, browser: false }));
}
/** The call does not throw: it reports the event `rejected` once, naming the field and the reason, and returns its id. */
function errorOf(fn: () => unknown): { field: string; reason: string; message: string } {
  rejections = [];
  let id: unknown;
  expect(() => (id = fn())).not.toThrow();
  expect(rejections).toHaveLength(1);
  const [r] = rejections;
  expect(r.event.id).toBe(id);
  expect(r.errors).toHaveLength(1);
  return { field: r.errors[0].field, reason: r.errors[0].message, message: r.reason };
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
  it('uses the catalogue\'s limits', () => {
    expect(LIMITS).toEqual({
      ID_PATTERN: catalogue.ID_PATTERN,
      MAX_MONEY_MINOR: catalogue.MAX_MONEY_MINOR,
      MAX_QUANTITY: catalogue.MAX_QUANTITY,
      MAX_ITEMS: catalogue.MAX_ITEMS,
      MIN_OCCURRED_AT: catalogue.MIN_OCCURRED_AT,
      MAX_FUTURE_MS: catalogue.MAX_FUTURE_MS,
      CONSENT_PURPOSE_PATTERN: catalogue.CONSENT_PURPOSE_PATTERN,
      CONSENT_TEXT_MAX_LENGTH: catalogue.CONSENT_TEXT_MAX_LENGTH,
    });
    expect(CONSENT_STATUSES).toEqual(catalogue.CONSENT_STATUSES);
  });
  it('checks consent events as the server does', () => {
    expect(() => c.consent({ customerId: 'c', purpose: 'email_marketing', status: 'granted', source: 'checkout', policyVersion: '2026-05' })).not.toThrow();
    expect(() => c.consent({ anonymousId: 'a', purpose: 'loyalty_sms', status: 'withdrawn' })).not.toThrow();
    expect(errorOf(() => c.consent({ customerId: 'c', purpose: 'Email Marketing', status: 'granted' })).field).toBe('purpose');
    expect(errorOf(() => c.consent({ customerId: 'c', purpose: '__proto__', status: 'granted' })).field).toBe('purpose');
    expect(errorOf(() => c.consent({ customerId: 'c', purpose: 'x'.repeat(65), status: 'granted' })).field).toBe('purpose');
    expect(errorOf(() => c.consent({ customerId: 'c', purpose: 'analytics', status: 'maybe' as never })).field).toBe('status');
    expect(errorOf(() => c.consent({ customerId: 'c', purpose: 'analytics', status: 'granted', source: '' })).field).toBe('source');
    expect(errorOf(() => c.consent({ customerId: 'c', purpose: 'analytics', status: 'granted', policyVersion: 'v'.repeat(129) })).field).toBe('policyVersion');
  });
  it('bounds money, lines, quantities and ids as the server does', () => {
    const p = (over: object) => () => c.purchase({ customerId: 'c', orderId: 'o', currency: 'EUR', items, totalMinor: 2000, ...over });
    expect(errorOf(p({ items: [{ productId: 'p', quantity: 1, unitPriceMinor: 1e12 + 1 }], totalMinor: 1e12 + 1 })).field).toBe('items[0].unitPriceMinor');
    expect(errorOf(p({ items: [{ productId: 'p', quantity: 1_000_000, unitPriceMinor: 1e12 }], totalMinor: 1e18 })).field).toBe('items[0].unitPriceMinor');
    expect(errorOf(p({ items: [{ productId: 'p', quantity: 1_000_001, unitPriceMinor: 1 }], totalMinor: 1_000_001 })).field).toBe('items[0].quantity');
    expect(errorOf(p({ items: [{ productId: 'p', quantity: 1, unitPriceMinor: 6e11 }, { productId: 'q', quantity: 1, unitPriceMinor: 6e11 }], totalMinor: 1.2e12 })).field).toBe('totalMinor');
    expect(errorOf(p({ shippingMinor: 1e21 })).field).toBe('shippingMinor');
    expect(errorOf(p({ orderId: 'o 1' })).field).toBe('orderId');
    expect(errorOf(p({ items: [{ productId: 'p/1', quantity: 1, unitPriceMinor: 2000 }] })).field).toBe('items[0].productId');
    expect(errorOf(p({ referralCode: '' })).field).toBe('referralCode');
    expect(errorOf(() => c.return({ customerId: 'c', orderId: 'o', currency: 'EUR', items: [{ productId: 'p', quantity: 1 }], refundMinor: 1e308 })).field).toBe('refundMinor');
    expect(errorOf(() => c.referral({ customerId: 'c', referralCode: 'R', refereeId: '__proto__' })).field).toBe('refereeId');
    expect(errorOf(() => c.view({ customerId: 'c', productId: 'p', occurredAt: '1969-12-31T23:59:59Z' })).field).toBe('occurredAt');
    expect(() => p({ items: [{ productId: 'p', quantity: 1000, unitPriceMinor: 1e9 }], totalMinor: 1e12 })()).not.toThrow();
    expect(() => c.view({ customerId: 'ada+shop@example.com', productId: 'sku.1:a' })).not.toThrow();
  });
  it('sends null optional fields as absent', async () => {
    const server = new FakeServer();
    const n = new Cairn({ writeKey: 'k', host: 'http://cairn.test', channel: 'web', fetch: server.fetch, browser: false });
    const nulls = { anonymousId: null, category: null, priceMinor: null, currency: null } as unknown as object;
    n.view({ customerId: 'c', productId: 'p', ...nulls });
    n.purchase({ customerId: 'c', orderId: 'o', currency: 'EUR', items: [{ productId: 'p', quantity: 1, unitPriceMinor: 5, category: null as never }], totalMinor: 5, referralCode: null as never });
    await n.closeAndFlush({ timeoutMs: 1000 });
    const sent = [...server.stored.values()];
    expect(sent).toHaveLength(2);
    expect(sent[0]).not.toHaveProperty('anonymousId');
    expect(sent[0]).not.toHaveProperty('category');
    expect(sent[1]).not.toHaveProperty('referralCode');
    expect((sent[1] as unknown as { items: object[] }).items[0]).toEqual({ productId: 'p', quantity: 1, unitPriceMinor: 5 });
  });
  it('requires a channel outside browsers unless configured', () => {
    const bare = watched(new Cairn({ writeKey: 'k', host: 'http://cairn.test', fetch: new FakeServer().fetch, browser: false }));
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
