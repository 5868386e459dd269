/**
 * fast-check arbitraries for raw ingest events as clients send them: mostly valid-looking (small
 * id pools, so events of one customer, order or visitor meet in the projections), mixed with
 * hostile values — nulls, missing fields, numbers at and past every limit, NaN-ish strings, ids
 * outside the alphabet, prototype keys, deep objects, arrays where objects belong.
 */
import fc from 'fast-check';
import { MAX_MONEY_MINOR, MAX_QUANTITY } from '@cairn/domain';

/** The instant parseEvent is given as "received at". */
export const NOW = new Date('2026-11-28T12:00:00Z');

function deep(depth: number): unknown {
  let o: unknown = { leaf: 1 };
  for (let i = 0; i < depth; i++) o = { a: o };
  return o;
}

/** An object with an own `__proto__` key, as JSON.parse produces it. */
function withProtoKey(base: Record<string, unknown>, value: unknown): Record<string, unknown> {
  const out = { ...base };
  Object.defineProperty(out, '__proto__', { value, enumerable: true, writable: true, configurable: true });
  return out;
}

const hostileString = fc.constantFrom(
  '',
  ' ',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
  'valueOf',
  'NaN',
  'Infinity',
  '-1',
  '1e308',
  'x'.repeat(128),
  'x'.repeat(129),
  '\u0000',
  'a\u0000b',
  '\ud800',
  'ü',
  'a b',
  'a/b',
  '🙂',
  "'; drop table profiles;--",
  '%s%n',
);

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.constantFrom(true, false, 0, -1, 1.5, NaN, Infinity, -Infinity, -0, 1e308, 2 ** 53),
  fc.constant([]),
  fc.constant({}),
  fc.constant(deep(50)),
  fc.constant(deep(3000)),
  fc.constant(withProtoKey({}, { polluted: true })),
  hostileString,
  fc.string({ maxLength: 12 }),
  fc.anything({ maxDepth: 3 }),
);

/** An id: mostly from a small pool of valid ones (including look-alikes of JS names). */
function id(pool: readonly string[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 40, arbitrary: fc.constantFrom(...pool) },
    { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,16}$/) },
    { weight: 1, arbitrary: hostileString },
    { weight: 1, arbitrary: hostileValue },
  );
}

const customers = ['c1', 'c2', 'null', 'constructor', 'toString', 'ada+shop@example.com', 'x'.repeat(128)];
const visitors = ['a1', 'a2', 'hasOwnProperty', 'valueOf'];
const orders = ['o1', 'o2', 'constructor', 'toString', '0'];
const products = ['p1', 'p2', 'constructor'];
const codes = ['R1', 'R2', 'constructor'];
/** Purposes a shop may name: the known three, its own, and names of Object.prototype that fit the pattern. */
const purposes = ['email_marketing', 'personalization', 'analytics', 'sms_offers', 'constructor', 'x'.repeat(64)];
const categories = ['shoes', 'bags', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'x'.repeat(128), 'Home & Garden'];

const money: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 30, arbitrary: fc.integer({ min: 0, max: 100_000 }) },
  { weight: 6, arbitrary: fc.integer({ min: 0, max: MAX_MONEY_MINOR }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(0, MAX_MONEY_MINOR, MAX_MONEY_MINOR - 1, MAX_MONEY_MINOR + 1, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 1e15, 1e21, 1e308, Number.MAX_VALUE, -1, 0.5, 1e-300),
  },
  { weight: 1, arbitrary: fc.constantFrom('10', 'NaN', '1e3', '', null) },
  { weight: 1, arbitrary: hostileValue },
);
const quantity: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 30, arbitrary: fc.integer({ min: 1, max: 5 }) },
  { weight: 2, arbitrary: fc.constantFrom(MAX_QUANTITY, MAX_QUANTITY + 1, 1000) },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 1.5, 2 ** 53, 1e21, '2', null) },
  { weight: 1, arbitrary: hostileValue },
);
const rating: fc.Arbitrary<unknown> = fc.oneof({ weight: 20, arbitrary: fc.integer({ min: 1, max: 5 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 6, 3.5, '5', null, NaN) });
const currency: fc.Arbitrary<unknown> = fc.oneof({ weight: 20, arbitrary: fc.constantFrom('EUR', 'USD', 'JPY') }, { weight: 1, arbitrary: fc.constantFrom('eur', 'EURO', 'XXX', 'ZZZ', '', null, '__proto__') });
const channel: fc.Arbitrary<unknown> = fc.oneof({ weight: 20, arbitrary: fc.constantFrom('web', 'app', 'store', 'email', 'social', 'marketplace') }, { weight: 1, arbitrary: fc.constantFrom('fax', '', null, 'constructor') });

const dayMs = 86_400_000;
const occurredAt: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: -400, max: 0 }).map((d) => new Date(NOW.getTime() + d * dayMs).toISOString()) },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 1, max: 28 }), fc.constantFrom('+14:00', '-12:00', '+05:45', 'Z')).map(([d, off]) => `2026-01-${String(d).padStart(2, '0')}T23:59:59.999999999${off}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('1970-01-01T00:00:00Z', '1970-01-01T00:00:00+01:00', '1969-12-31T23:59:59Z', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '2026-02-30T10:00:00Z', '2026-11-29T12:00:00Z', '2026-11-28T10:00:00', '1997-01-01T00:00:00-12:00', 'yesterday', ''),
  },
  { weight: 1, arbitrary: hostileValue },
);

const smallRecord: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 10, arbitrary: fc.dictionary(fc.constantFrom('locale', 'campaign', 'email', 'country', 'constructor', 'toString', 'x'.repeat(64)), fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null)), { maxKeys: 4 }) },
  { weight: 1, arbitrary: fc.constant(withProtoKey({ locale: 'de' }, 'x')) },
  { weight: 1, arbitrary: hostileValue },
);

/** Optional field: absent, null (means absent) or a value. */
function optional(arb: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 4, arbitrary: arb });
}

/** Drops undefined fields: what a JSON body would carry. */
function compact(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}

const common = {
  id: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 4, arbitrary: fc.uuid() }, { weight: 1, arbitrary: fc.constantFrom('not-a-uuid', '00000000-0000-0000-0000-000000000000', 'ABCDEF01-2345-6789-ABCD-EF0123456789', null) }),
  customerId: fc.oneof({ weight: 6, arbitrary: id(customers) }, { weight: 1, arbitrary: fc.constantFrom(undefined, null) }),
  anonymousId: optional(id(visitors)),
  occurredAt,
  channel,
  context: optional(smallRecord),
};

const purchaseItem = fc.oneof(
  { weight: 30, arbitrary: fc.record({ productId: id(products), category: optional(id(categories)), quantity, unitPriceMinor: money }).map(compact) },
  { weight: 1, arbitrary: hostileValue },
);
const returnItem = fc.oneof({ weight: 30, arbitrary: fc.record({ productId: id(products), quantity }).map(compact) }, { weight: 1, arbitrary: hostileValue });

/** The total a purchase's items add up to, when they are numbers (else anything). */
function totalOf(e: Record<string, unknown>): unknown {
  const items = Array.isArray(e.items) ? e.items : [];
  let sum = 0;
  for (const it of items) {
    const r = it as { quantity?: unknown; unitPriceMinor?: unknown } | null;
    sum += Number(r?.quantity) * Number(r?.unitPriceMinor);
  }
  return sum + Number(e.shippingMinor ?? 0) + Number(e.taxMinor ?? 0) - Number(e.discountMinor ?? 0);
}

const byKind: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  view: fc.record({ ...common, type: fc.constant('view'), productId: id(products), category: optional(id(categories)), priceMinor: optional(money), currency: optional(currency) }).map(compact),
  purchase: fc
    .record({
      ...common,
      type: fc.constant('purchase'),
      orderId: id(orders),
      currency,
      items: fc.oneof({ weight: 8, arbitrary: fc.array(purchaseItem, { minLength: 1, maxLength: 4 }) }, { weight: 1, arbitrary: fc.constantFrom([], 'x', null, {}) }),
      discountMinor: optional(money),
      shippingMinor: optional(money),
      taxMinor: optional(money),
      referralCode: optional(id(codes)),
      couponCode: optional(fc.oneof(fc.constantFrom('SUMMER 20%', 'BF-2026'), hostileString)),
      totalRight: fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x < 0.85),
      totalMinor: money,
    })
    .map(({ totalRight, ...e }) => compact({ ...e, totalMinor: totalRight ? totalOf(e) : e.totalMinor })),
  return: fc
    .record({
      ...common,
      type: fc.constant('return'),
      orderId: id(orders),
      items: fc.oneof({ weight: 8, arbitrary: fc.array(returnItem, { minLength: 1, maxLength: 3 }) }, { weight: 1, arbitrary: fc.constantFrom([], null) }),
      refundMinor: money,
      currency,
      reason: optional(fc.oneof(fc.string({ maxLength: 20 }), hostileString)),
    })
    .map(compact),
  review: fc
    .record({ ...common, type: fc.constant('review'), productId: id(products), rating, orderId: optional(id(orders)), title: optional(fc.oneof(fc.string({ maxLength: 20 }), hostileString)), body: optional(fc.string({ maxLength: 50 })) })
    .map(compact),
  referral: fc.record({ ...common, type: fc.constant('referral'), referralCode: id(codes), refereeId: optional(id(customers)) }).map(compact),
  identify: fc.record({ ...common, type: fc.constant('identify'), traits: optional(smallRecord) }).map(compact),
  consent: fc
    .record({
      ...common,
      type: fc.constant('consent'),
      purpose: fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...purposes) }, { weight: 1, arbitrary: fc.oneof(hostileString, fc.constantFrom('Email', 'email-marketing', 'x'.repeat(65), '', '_a', null)) }),
      status: fc.oneof({ weight: 12, arbitrary: fc.constantFrom('granted', 'withdrawn') }, { weight: 1, arbitrary: fc.constantFrom('GRANTED', 'revoked', '', null, true, '__proto__') }),
      source: optional(fc.oneof(fc.constantFrom('checkout', 'preference-center', 'x'.repeat(128), 'x'.repeat(129)), hostileString)),
      policyVersion: optional(fc.oneof(fc.constantFrom('2026-05', 'v1', ''), hostileString)),
    })
    .map(compact),
  // The shop's own track events (the Segment door's custom kind): any name, flat properties, hostile ones too.
  custom: fc
    .record({
      ...common,
      type: fc.constant('custom'),
      name: fc.oneof({ weight: 12, arbitrary: fc.constantFrom('Newsletter Signed Up', 'Cart Viewed', 'constructor', '__proto__', 'x'.repeat(200)) }, { weight: 1, arbitrary: fc.oneof(hostileString, fc.constantFrom('', '   ', 'x'.repeat(201), null, 7)) }),
      properties: optional(smallRecord),
    })
    .map(compact),
};

const extraKey = fc.oneof(
  { weight: 20, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom('surprise', 'constructor', 'toString', 'type ', '') },
  { weight: 1, arbitrary: fc.constant('__proto__') },
);

/** One raw event: a kind's shape (maybe with an extra or prototype key), or anything at all. */
export const rawEvent: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.tuple(fc.oneof(...Object.values(byKind)), extraKey, hostileValue).map(([e, key, value]) => {
      if (key === undefined) return e;
      if (key === '__proto__') return withProtoKey(e, value);
      return { ...e, [key]: value };
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constantFrom('view', 'purchase', 'unknown', '__proto__', 'constructor'), customerId: id(customers) }) },
  { weight: 1, arbitrary: hostileValue },
);
