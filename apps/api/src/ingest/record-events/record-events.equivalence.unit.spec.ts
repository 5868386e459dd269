/**
 * The compiled path (JSON Schemas generated from the DTOs, compiled by ajv) is the declared
 * contract (class-validator on the DTOs): over valid events of every kind and every kind of
 * mutation of them, both paths accept the same events, accept them as the same input, and reject
 * the others naming the same fields.
 */
import fc from 'fast-check';
import { CHANNELS, EVENT_KINDS, MAX_ITEMS, MAX_MONEY_MINOR, MAX_QUANTITY } from '@cairn/domain';
import { NOW, rawEvent } from '../../../../../test/support/hostile-events';
import { EVENT_SCHEMAS, parseEvent, parseEventByClassValidator, type ParsedEvent } from './record-events.request.dto';

/**
 * The fields an error list names. class-validator descends into an array found where an item
 * object belongs and also names its elements (`items[0][1]`); the compiled path stops at the item
 * (`items[0]`), which both name. So a path below an item index folds into that item.
 */
function fieldsOf(r: ParsedEvent): string[] {
  if (r.ok) return [];
  return [...new Set(r.errors.map((e) => e.field.replace(/^(items\[\d+\])\[\d+\].*$/, '$1')))].sort();
}

function expectSame(raw: unknown): void {
  const compiled = parseEvent(raw, NOW);
  const declared = parseEventByClassValidator(raw, NOW);
  const label = JSON.stringify(raw)?.slice(0, 400);
  expect({ raw: label, ok: compiled.ok }).toEqual({ raw: label, ok: declared.ok });
  if (compiled.ok && declared.ok) {
    // Normalised input: nulls dropped, nothing else changed; plain data (JSON-equal) in both paths.
    expect(compiled.input).toEqual(declared.input);
    expect(JSON.stringify(compiled.input)).toBe(JSON.stringify(declared.input));
    return;
  }
  if (!compiled.ok && !declared.ok) {
    expect({ raw: label, id: compiled.id, fields: fieldsOf(compiled) }).toEqual({ raw: label, id: declared.id, fields: fieldsOf(declared) });
    for (const e of compiled.errors) expect(e).toEqual({ field: expect.any(String), message: expect.stringMatching(/\S/) });
  }
}

// ---- valid events of every kind --------------------------------------------------------------

const idChars = 'abcXYZ0189_.:@+-';
const validId = fc
  .tuple(fc.constantFrom(...'aZ09'), fc.string({ unit: fc.constantFrom(...idChars), maxLength: 127 }))
  .map(([h, t]) => h + t);
const shortId = fc.oneof({ weight: 5, arbitrary: fc.constantFrom('c1', 'p1', 'o1', 'R1', 'a1') }, { weight: 1, arbitrary: validId });
const moneyOk = fc.oneof(fc.integer({ min: 0, max: 100_000 }), fc.constantFrom(0, MAX_MONEY_MINOR));
const text = (max: number) => fc.string({ unit: 'grapheme', minLength: 1, maxLength: max });
const iso = fc.integer({ min: -400, max: 0 }).map((d) => new Date(NOW.getTime() + d * 86_400_000).toISOString());
const currencyOk = fc.constantFrom('EUR', 'USD', 'JPY', 'CHF');

function opt<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined | null> {
  return fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 3, arbitrary: arb });
}

function compact(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

const common = {
  id: opt(fc.uuid()),
  customerId: shortId,
  anonymousId: opt(shortId),
  occurredAt: iso,
  channel: fc.constantFrom(...CHANNELS),
  context: opt(fc.dictionary(fc.constantFrom('locale', 'campaign', 'ua'), fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.boolean()), { maxKeys: 3 })),
};
const purchaseItem = fc.record({ productId: shortId, category: opt(text(128)), quantity: fc.integer({ min: 1, max: 5 }), unitPriceMinor: fc.integer({ min: 0, max: 100_000 }) }).map(compact);

const validByKind: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  view: fc.record({ ...common, type: fc.constant('view'), productId: shortId, category: opt(text(128)), priceMinor: opt(moneyOk), currency: opt(currencyOk) }).map(compact),
  purchase: fc
    .record({
      ...common,
      type: fc.constant('purchase'),
      orderId: shortId,
      currency: currencyOk,
      items: fc.array(purchaseItem, { minLength: 1, maxLength: 4 }),
      shippingMinor: opt(fc.integer({ min: 0, max: 1000 })),
      taxMinor: opt(fc.integer({ min: 0, max: 1000 })),
      referralCode: opt(shortId),
      couponCode: opt(text(128)),
    })
    .map((e) => {
      const items = (e.items as { quantity: number; unitPriceMinor: number }[]).reduce((s, it) => s + it.quantity * it.unitPriceMinor, 0);
      return compact({ ...e, totalMinor: items + (e.shippingMinor ?? 0) + (e.taxMinor ?? 0) });
    }),
  return: fc
    .record({
      ...common,
      type: fc.constant('return'),
      orderId: shortId,
      items: fc.array(fc.record({ productId: shortId, quantity: fc.integer({ min: 1, max: MAX_QUANTITY }) }), { minLength: 1, maxLength: 3 }),
      refundMinor: moneyOk,
      currency: currencyOk,
      reason: opt(text(1000)),
    })
    .map(compact),
  review: fc
    .record({ ...common, type: fc.constant('review'), productId: shortId, rating: fc.integer({ min: 1, max: 5 }), orderId: opt(shortId), title: opt(text(200)), body: opt(fc.string({ maxLength: 300 })) })
    .map(compact),
  referral: fc.record({ ...common, type: fc.constant('referral'), referralCode: shortId, refereeId: opt(shortId) }).map(compact),
  consent: fc
    .record({
      ...common,
      type: fc.constant('consent'),
      purpose: fc.oneof(fc.constantFrom('email_marketing', 'personalization', 'analytics', 'constructor'), fc.stringMatching(/^[a-z][a-z0-9_]{0,63}$/)),
      status: fc.constantFrom('granted', 'withdrawn'),
      source: opt(text(128)),
      policyVersion: opt(text(128)),
    })
    .map(compact),
  identify: fc.record({ ...common, type: fc.constant('identify'), anonymousId: shortId, traits: opt(fc.dictionary(fc.constantFrom('email', 'country'), fc.string({ maxLength: 10 }), { maxKeys: 2 })) }).map(compact),
};
const validEvent = fc.oneof(...Object.values(validByKind));

// ---- mutations -------------------------------------------------------------------------------

function deep(depth: number): unknown {
  let o: unknown = { leaf: 1 };
  for (let i = 0; i < depth; i++) o = { a: o };
  return o;
}

/** Strings at and around every length bound, counted every way a length can be counted. */
const edgyString = fc.oneof(
  fc.constantFrom(0, 1, 127, 128, 129, 199, 200, 201, 999, 1000, 1001, 4999, 5000, 5001).chain((n) =>
    fc.constantFrom('x'.repeat(n), '🙂'.repeat(n), `${'x'.repeat(Math.max(0, n - 1))}\ufe0f`, `${'x'.repeat(n)}\ufe0f`, `${'x'.repeat(n)}\ufe0e\ufe0f`, `${'x'.repeat(Math.max(0, n - 1))}\ud800`),
  ),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('', ' ', 'a b', 'ü', '\u0000', '-a', '_a', 'a/b', 'urn:uuid:0192f3a4-5b6c-7d8e-9f01-23456789abcd', '0192f3a4-5b6c-7d8e-9f01-23456789abcd', '0192F3A4-5B6C-7D8E-9F01-23456789ABCD', '0192f3a4-5b6c-0d8e-9f01-23456789abcd', '0192f3a4-5b6c-7d8e-cf01-23456789abcd', '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '{0192f3a4-5b6c-7d8e-9f01-23456789abcd}'),
  fc.constantFrom('EUR', 'eur', 'Eur', 'XXX', 'ZZZ', 'EURO', 'EU', 'XTS', 'BOV'),
  fc.constantFrom('web', 'Web', 'fax', 'view', 'purchase', '2026-11-28T10:00:00Z', '2026-11-28T10:00Z', '2026-11-28T10:00:00.1234567891Z', '2026-11-28 10:00:00Z', '２０２６-11-28T10:00:00Z'),
);
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -0, -1, 1, 1.5, 5, 6, 0.1, 1e-300, MAX_QUANTITY, MAX_QUANTITY + 1, MAX_MONEY_MINOR, MAX_MONEY_MINOR + 1, 2 ** 53, 1e21, 1e308, -1e308),
  fc.constantFrom([], {}, [1], [{}], [[]], { a: 1 }, { productId: 'p' }),
  fc.constant(deep(40)),
  edgyString,
  fc.anything({ maxDepth: 3 }),
);
const fieldNames = ['id', 'type', 'customerId', 'anonymousId', 'occurredAt', 'channel', 'context', 'productId', 'category', 'priceMinor', 'currency', 'orderId', 'items', 'discountMinor', 'shippingMinor', 'taxMinor', 'totalMinor', 'referralCode', 'couponCode', 'refundMinor', 'reason', 'rating', 'title', 'body', 'refereeId', 'traits'];
const itemFieldNames = ['productId', 'category', 'quantity', 'unitPriceMinor'];
const unknownKey = fc.constantFrom('surprise', 'Type', 'type ', '', '0', '12', 'a.b', 'a/b', 'a~b', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', 'items[0]', '🙂');

type Mutation = (e: Record<string, unknown>) => fc.Arbitrary<Record<string, unknown>>;
const withItems = (e: Record<string, unknown>, f: (items: unknown[]) => fc.Arbitrary<unknown>) =>
  Array.isArray(e.items) && e.items.length > 0 ? f(e.items).map((items) => ({ ...e, items })) : fc.constant(e);

const mutations: Mutation[] = [
  // a field (declared for some kind, maybe not this one) gets a wrong, null or edge value
  (e) => fc.tuple(fc.constantFrom(...fieldNames), wrongValue).map(([k, v]) => ({ ...e, [k]: v })),
  // a required or optional field goes missing
  (e) => fc.constantFrom(...Object.keys(e)).map((k) => Object.fromEntries(Object.entries(e).filter(([key]) => key !== k))),
  // unknown fields
  (e) => fc.tuple(unknownKey, wrongValue).map(([k, v]) => ({ ...e, [k]: v })),
  // an item: wrong value, missing field, unknown field, not an object
  (e) => withItems(e, (items) => fc.tuple(fc.nat(items.length - 1), fc.constantFrom(...itemFieldNames), wrongValue).map(([i, k, v]) => items.map((it, j) => (j === i ? { ...(it as object), [k]: v } : it)))),
  (e) => withItems(e, (items) => fc.tuple(fc.nat(items.length - 1), fc.constantFrom(...itemFieldNames)).map(([i, k]) => items.map((it, j) => (j === i ? Object.fromEntries(Object.entries(it as object).filter(([key]) => key !== k)) : it)))),
  (e) => withItems(e, (items) => fc.tuple(fc.nat(items.length - 1), unknownKey, wrongValue).map(([i, k, v]) => items.map((it, j) => (j === i ? { ...(it as object), [k]: v } : it)))),
  (e) => withItems(e, (items) => fc.tuple(fc.nat(items.length - 1), wrongValue).map(([i, v]) => items.map((it, j) => (j === i ? v : it)))),
  // huge arrays: at, and past, the item limit
  (e) => withItems(e, (items) => fc.constantFrom(MAX_ITEMS, MAX_ITEMS + 1, MAX_ITEMS + 50).map((n) => Array.from({ length: n }, (_, i) => items[i % items.length]))),
  // deep nesting where a flat value belongs
  (e) => fc.tuple(fc.constantFrom('context', 'traits', 'items', 'customerId', 'surprise'), fc.integer({ min: 1, max: 300 })).map(([k, d]) => ({ ...e, [k]: deep(d) })),
  // several at once
  (e) =>
    fc.array(fc.tuple(fc.constantFrom(...fieldNames), wrongValue), { minLength: 2, maxLength: 5 }).map((kvs) => {
      const out = { ...e };
      for (const [k, v] of kvs) out[k] = v;
      return out;
    }),
];
const mutatedEvent = validEvent.chain((e) => fc.constantFrom(...mutations).chain((m) => m(e)));

describe('compiled JSON Schema path ≡ class-validator path', () => {
  it('has a generated schema for every event kind', () => {
    expect(Object.keys(EVENT_SCHEMAS.byKind).sort()).toEqual([...EVENT_KINDS].sort());
    for (const name of Object.values(EVENT_SCHEMAS.byKind)) expect(EVENT_SCHEMAS.definitions[name]).toMatchObject({ type: 'object', additionalProperties: false });
  });

  it('accepts every generated valid event, the same in both paths', () => {
    fc.assert(
      fc.property(validEvent, (raw) => {
        expect(parseEvent(raw, NOW)).toMatchObject({ ok: true });
        expectSame(raw);
      }),
      { numRuns: 400 },
    );
  });

  it('agrees on mutated events: accept/reject, input, and the fields named', () => {
    let rejected = 0;
    fc.assert(
      fc.property(mutatedEvent, (raw) => {
        expectSame(raw);
        if (!parseEvent(raw, NOW).ok) rejected++;
      }),
      { numRuns: 800 },
    );
    expect(rejected).toBeGreaterThan(400); // mutations mostly break the event, as meant
  });

  it('agrees on the hostile ingest events of the projection property test', () => {
    fc.assert(fc.property(rawEvent, expectSame), { numRuns: 1000 });
  });

  it('agrees on edge cases written out', () => {
    const base = { customerId: 'c1', occurredAt: '2026-11-28T10:00:00+01:00', channel: 'web' };
    for (const raw of [
      { ...base, type: 'view', productId: 'p', category: `${'x'.repeat(128)}\ufe0f` },
      { ...base, type: 'view', productId: 'p', category: '🙂'.repeat(128) },
      { ...base, type: 'view', productId: 'p', category: '🙂'.repeat(129) },
      { ...base, type: 'view', productId: 'p', id: 'urn:uuid:0192f3a4-5b6c-7d8e-9f01-23456789abcd' },
      { ...base, type: 'view', productId: 'p', id: '0192f3a4-5b6c-0d8e-9f01-23456789abcd' },
      { ...base, type: 'view', productId: 'p', currency: 'eur' },
      { ...base, type: 'view', productId: 'p', priceMinor: 1e12 + 1 },
      { ...base, type: 'purchase', orderId: 'o', currency: 'EUR', items: {}, totalMinor: 0 },
      { ...base, type: 'purchase', orderId: 'o', currency: 'EUR', items: [[{ productId: 'p', quantity: 1, unitPriceMinor: 1 }]], totalMinor: 1 },
      { ...base, type: 'purchase', orderId: 'o', currency: 'EUR', items: [{ productId: 'p', quantity: 1, unitPriceMinor: 1, '0': 1 }], totalMinor: 1 },
      JSON.parse('{"type":"view","customerId":"c1","occurredAt":"2026-11-28T10:00:00Z","channel":"web","productId":"p","__proto__":{"x":1},"constructor":{}}'),
    ]) {
      expectSame(raw);
    }
  });

  it('names the field and the reason in the declared words', () => {
    const r = parseEvent({ type: 'review', customerId: 'c1', occurredAt: '2026-11-28T10:00:00Z', channel: 'web', productId: 'p 1', rating: 6 }, NOW);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors).toEqual(
      expect.arrayContaining([
        { field: 'productId', message: expect.stringContaining('must be 1–128 characters') },
        { field: 'rating', message: 'rating must not be greater than 5' },
      ]),
    );
  });
});
