import fc from 'fast-check';
import { consentAsOf, isConsentGranted } from './consent';
import { combineProfiles, evolveProfile, toUtcIso, type FoldableEvent, type Profile } from './profile';

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
      fc
        .record({ at, purpose: fc.constantFrom('email_marketing', 'analytics', 'constructor'), status: fc.constantFrom('granted', 'withdrawn'), v: fc.constantFrom(undefined, '2026-05') })
        .map((x) => ev('cairn.consent.v1', x.at, { purpose: x.purpose, status: x.status, ...(x.v ? { policyVersion: x.v } : {}) })),
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

  describe('consent', () => {
    const consent = (at: string, purpose: string, status: 'granted' | 'withdrawn', extra: Record<string, unknown> = {}) => ev('cairn.consent.v1', at, { purpose, status, ...extra });

    it('keeps the current status per purpose with its history, in business-time order', () => {
      const events = [
        consent('2026-03-01T10:00:00+01:00', 'email_marketing', 'granted', { source: 'checkout', policyVersion: '2026-01' }),
        consent('2026-05-01T09:00:00Z', 'email_marketing', 'granted', { source: 'preference-center', policyVersion: '2026-05' }),
        consent('2026-06-01T09:00:00Z', 'email_marketing', 'withdrawn', { source: 'unsubscribe-link' }),
        consent('2026-04-01T09:00:00Z', 'analytics', 'granted'),
      ];
      const p = fold([events[2]!, events[0]!, events[3]!, events[1]!])!;
      expect(Object.keys(p.consent)).toEqual(['analytics', 'email_marketing']);
      expect(p.consent.email_marketing).toEqual({
        status: 'withdrawn',
        since: '2026-06-01T09:00:00.000Z',
        updatedAt: '2026-06-01T09:00:00.000Z',
        source: 'unsubscribe-link',
        policyVersion: null,
        history: [
          { status: 'granted', occurredAt: '2026-03-01T09:00:00.000Z', source: 'checkout', policyVersion: '2026-01', eventId: events[0]!.id },
          { status: 'granted', occurredAt: '2026-05-01T09:00:00.000Z', source: 'preference-center', policyVersion: '2026-05', eventId: events[1]!.id },
          { status: 'withdrawn', occurredAt: '2026-06-01T09:00:00.000Z', source: 'unsubscribe-link', policyVersion: null, eventId: events[2]!.id },
        ],
      });
      // As of an earlier instant: only the changes up to it, and `since` is the start of the run of grants.
      expect(consentAsOf(p.state.consent, '2026-05-15T00:00:00.000Z').email_marketing).toMatchObject({ status: 'granted', since: '2026-03-01T09:00:00.000Z', updatedAt: '2026-05-01T09:00:00.000Z', policyVersion: '2026-05' });
      expect(consentAsOf(p.state.consent, '2026-05-15T00:00:00.000Z').email_marketing!.history).toHaveLength(2);
      expect(consentAsOf(p.state.consent, '2026-02-01T00:00:00.000Z')).toEqual({});
      expect(isConsentGranted(p.state.consent, 'email_marketing', new Date('2026-05-31T23:59:59.999Z'))).toBe(true);
      expect(isConsentGranted(p.state.consent, 'email_marketing', new Date('2026-06-01T09:00:00.000Z'))).toBe(false);
      expect(isConsentGranted(p.state.consent, 'personalization', new Date('2027-01-01T00:00:00Z'))).toBe(false);
      // Consent is not activity for rolling windows, and earns no counts.
      expect(p.state.activity).toEqual([]);
      expect(p).toMatchObject({ views: 0, orders: 0, reviews: 0 });
    });

    it('reads a grant and a withdrawal of the same instant as withdrawn, whatever the order', () => {
      const a = consent('2026-06-01T09:00:00Z', 'email_marketing', 'withdrawn');
      const b = consent('2026-06-01T09:00:00Z', 'email_marketing', 'granted');
      expect(fold([a, b])!.consent.email_marketing!.status).toBe('withdrawn');
      expect(fold([b, a])!.consent.email_marketing!.status).toBe('withdrawn');
    });

    it('counts a re-sent event once and combines the sources of a person', () => {
      const g = consent('2026-06-01T09:00:00Z', 'constructor', 'granted');
      const p = fold([g, g])!;
      const ctor: string = 'constructor';
      expect(p.consent[ctor]!.history).toHaveLength(1);
      const visitor = evolveProfile(undefined, 'visitor-a1', consent('2026-06-02T09:00:00Z', 'constructor', 'withdrawn'), rules);
      const both = combineProfiles([p, visitor], 'c1');
      expect(both.consent[ctor]).toMatchObject({ status: 'withdrawn', since: '2026-06-02T09:00:00.000Z' });
      expect(combineProfiles([visitor, p], 'c1')).toEqual(both);
      expect(JSON.parse(JSON.stringify(both))).toEqual(both); // survives the store
    });

    it('answers every instant the same over the whole log as over the log cut at it (property)', () => {
      const at = fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2026, 0, 10) }).map((t) => new Date(t).toISOString());
      const change = fc.record({ at, purpose: fc.constantFrom('email_marketing', 'analytics'), status: fc.constantFrom<'granted' | 'withdrawn'>('granted', 'withdrawn') }).map((x) => consent(x.at, x.purpose, x.status));
      fc.assert(
        fc.property(fc.array(change, { minLength: 1, maxLength: 20 }), at, (events, cut) => {
          const full = fold(events)!;
          const before = events.filter((e) => toUtcIso(e.data.occurredAt) <= cut);
          const cutView = before.length === 0 ? {} : consentAsOf(fold(before)!.state.consent, cut);
          expect(consentAsOf(full.state.consent, cut)).toEqual(cutView);
          for (const purpose of ['email_marketing', 'analytics']) expect(isConsentGranted(full.state.consent, purpose, cut)).toBe(cutView[purpose]?.status === 'granted');
        }),
        { numRuns: 300 },
      );
    });
  });
});
