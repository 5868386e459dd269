import fc from 'fast-check';
import { combineProfiles, emptyProfile, evolveProfile, evolveProfileMany, lifecycleStage, type FoldableEvent, type Profile } from '../profile';
import { resolveIdentities } from './identity';

describe('resolveIdentities', () => {
  it('links visitors to customers, bridges customers through a device up to the limit, flags beyond it', () => {
    const r = resolveIdentities(['visitor-a', 'customer-c2', 'customer-c1'], [
      { anonymousId: 'a', customerId: 'c2' },
      { anonymousId: 'a', customerId: 'c1' },
    ], [], 3);
    expect(r.persons).toEqual([{ personId: 'customer-c1', sources: ['customer-c1', 'customer-c2', 'visitor-a'], customerIds: ['c1', 'c2'], anonymousIds: ['a'] }]);
    const shared = resolveIdentities(['visitor-a'], ['c1', 'c2', 'c3', 'c4'].map((c) => ({ anonymousId: 'a', customerId: c })), [], 3);
    expect(shared.sharedDevices).toEqual(['a']);
    expect(shared.persons.map((p) => p.personId)).toEqual(['visitor-a']);
  });

  it('keeps the merge survivor as the person, and splits again without the merge', () => {
    const merged = resolveIdentities(['customer-a', 'customer-b'], [], [{ mergeId: 'm', survivorId: 'b', mergedId: 'a' }]);
    expect(merged.personBySource.get('customer-a')).toBe('customer-b');
    const split = resolveIdentities(['customer-a', 'customer-b'], [], []);
    expect(split.personBySource.get('customer-a')).toBe('customer-a');
  });

  it('does not depend on the order of links and merges (property)', () => {
    const ids = fc.constantFrom('c1', 'c2', 'c3', 'c4');
    const link = fc.record({ anonymousId: fc.constantFrom('a1', 'a2'), customerId: ids });
    const merge = fc.record({ mergeId: fc.constantFrom('m1', 'm2', 'm3'), survivorId: ids, mergedId: ids });
    fc.assert(
      fc.property(fc.array(link, { maxLength: 8 }), fc.array(merge, { maxLength: 3 }), fc.integer(), (links, merges, seed) => {
        const shuffle = <T>(xs: T[]) => [...xs].sort((a, b) => ((JSON.stringify(a).length * 31 + seed) % 7) - ((JSON.stringify(b).length * 17 + seed) % 5));
        const a = resolveIdentities([], links, merges, 2);
        const b = resolveIdentities([], shuffle(links).reverse(), shuffle(merges).reverse(), 2);
        expect(b.persons).toEqual(a.persons);
        expect(b.sharedDevices).toEqual(a.sharedDevices);
      }),
    );
  });
});

describe('profile extension', () => {
  let n = 0;
  const ev = (type: FoldableEvent['type'], occurredAt: string, extra: Record<string, unknown> = {}): FoldableEvent => ({
    id: `e-${String(++n).padStart(4, '0')}`,
    type,
    data: { customerId: 'c', occurredAt, channel: 'web', ...extra } as never,
  });
  const buy = (orderId: string, at: string, total: number, extra: Record<string, unknown> = {}) =>
    ev('cairn.purchase.v1', at, { orderId, currency: 'USD', items: [{ productId: 'p', category: 'shoes', quantity: 2, unitPriceMinor: total / 2 }], totalMinor: total, ...extra });
  const fold = (events: FoldableEvent[], id = 'c'): Profile => events.reduce<Profile | undefined>((p, e) => evolveProfile(p, id, e, { currency: 'USD' }), undefined)!;

  it('computes the extension fields by hand', () => {
    const p = fold([
      buy('o1', '2026-01-01T00:00:00Z', 1000),
      buy('o2', '2026-01-11T00:00:00Z', 3000, { referralCode: 'R1' }),
      buy('o3', '2026-02-10T00:00:00Z', 1000),
      ev('cairn.return.v1', '2026-01-12T00:00:00Z', { orderId: 'o2', items: [{ productId: 'p', quantity: 1 }], refundMinor: 1500, currency: 'USD' }),
      ev('cairn.view.v1', '2026-01-01T00:00:00Z', { productId: 'p', category: 'bags' }),
      ev('cairn.view.v1', '2026-01-02T00:00:00Z', { productId: 'p', category: 'bags' }),
      ev('cairn.view.v1', '2026-01-03T00:00:00Z', { productId: 'p', category: 'shoes' }),
      ev('cairn.review.v1', '2026-01-04T00:00:00Z', { productId: 'p', rating: 5 }),
      ev('cairn.review.v1', '2026-01-05T00:00:00Z', { productId: 'p', rating: 2 }),
      ev('cairn.referral.v1', '2026-01-06T00:00:00Z', { referralCode: 'X', refereeId: 'f1' }),
      ev('cairn.referral.v1', '2026-01-07T00:00:00Z', { referralCode: 'X', refereeId: 'f1' }),
    ]);
    expect(p.firstOrder!.orderId).toBe('o1');
    expect(p.lastOrder!.orderId).toBe('o3');
    expect(p.medianDaysBetweenOrders).toBe(20); // gaps 10 and 30
    expect(p.returnRate).toEqual({ orders: 0.3333, value: 0.3 });
    expect(p.favouriteCategories).toEqual({ viewed: [{ category: 'bags', count: 2 }, { category: 'shoes', count: 1 }], purchased: [{ category: 'shoes', count: 6 }] });
    expect(p.reviewStats).toEqual({ count: 2, averageRating: 3.5, distribution: [0, 1, 0, 0, 1] });
    expect(p.referralStats).toEqual({ made: 2, distinctReferees: 1, referredOrders: 1 });
  });

  it('combines two disjoint folds into the fold of the union, in any grouping (property)', () => {
    const at = fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2026, 11, 31) }).map((t) => new Date(t).toISOString());
    const event = fc.oneof(
      fc.record({ at, o: fc.constantFrom('o1', 'o2', 'o3'), t: fc.integer({ min: 0, max: 1000 }) }).map((x) => buy(x.o, x.at, x.t * 2)),
      fc.record({ at, c: fc.constantFrom('a', 'b') }).map((x) => ev('cairn.view.v1', x.at, { productId: 'p', category: x.c })),
      fc.record({ at, r: fc.integer({ min: 1, max: 5 }) }).map((x) => ev('cairn.review.v1', x.at, { productId: 'p', rating: x.r })),
      fc.record({ at, f: fc.integer({ min: 0, max: 900 }) }).map((x) => ev('cairn.return.v1', x.at, { orderId: 'o1', items: [], refundMinor: x.f, currency: 'USD' })),
    );
    fc.assert(
      fc.property(fc.array(event, { minLength: 2, maxLength: 20 }), fc.nat(), (events, cut) => {
        const k = 1 + (cut % (events.length - 1));
        const whole = fold(events, 'p');
        const parts = combineProfiles([fold(events.slice(k), 'x'), fold(events.slice(0, k), 'y')], 'p');
        expect(JSON.stringify(parts)).toBe(JSON.stringify(whole));
        // Folding a batch at once (derived fields computed once) gives the same bytes.
        expect(JSON.stringify(evolveProfileMany(fold(events.slice(0, k), 'p'), 'p', events.slice(k), { currency: 'USD' }))).toBe(JSON.stringify(whole));
      }),
    );
  });

  it('names the lifecycle stage as of a date', () => {
    const p = fold([buy('o1', '2026-01-01T00:00:00Z', 1000), buy('o2', '2026-03-01T00:00:00Z', 1000)]);
    const day = (d: string) => new Date(`${d}T00:00:00Z`);
    expect(lifecycleStage(p, day('2026-01-20'))).toBe('new');
    expect(lifecycleStage(p, day('2026-04-01'))).toBe('active');
    expect(lifecycleStage(p, day('2026-07-01'))).toBe('at_risk');
    expect(lifecycleStage(p, day('2026-12-01'))).toBe('lapsed');
    expect(lifecycleStage(emptyProfile('x', '2026-01-01T00:00:00.000Z', 'USD'), day('2026-01-10'))).toBe('new');
    expect(lifecycleStage(p, day('2026-04-01'), { newDays: 10, activeDays: 20, lapsedDays: 40 })).toBe('at_risk');
  });
});
