import fc from 'fast-check';
import { factsByPerson, NO_PERSONS, samePersonMap, type PersonMap } from './persons';
import { uniqueOrders, type ActivityFact, type Facts, type OrderFact } from './metrics';

const IDS = ['c1', 'c2', 'c3', 'c4'];
// Few instants, totals and order ids: copies of one order and exact ties are common.
const order: fc.Arbitrary<OrderFact> = fc.record({
  customerId: fc.constantFrom(...IDS),
  orderId: fc.constantFrom('o1', 'o2', 'o3'),
  at: fc.integer({ min: 0, max: 3 }),
  totalMinor: fc.integer({ min: 0, max: 2 }),
  currency: fc.constantFrom('USD', 'EUR'),
  referralCode: fc.constantFrom(null, 'R1', 'R2'),
});
/** A random grouping of the ids into persons, each answering as its smallest id. */
const persons: fc.Arbitrary<PersonMap> = fc.array(fc.integer({ min: 0, max: 3 }), { minLength: IDS.length, maxLength: IDS.length }).map((groups) => {
  const customers = new Map<string, string>();
  IDS.forEach((id, i) => {
    const canonical = IDS.find((_, j) => groups[j] === groups[i])!;
    if (canonical !== id) customers.set(id, canonical);
  });
  return { customers, visitors: new Map([['a1', 'c1']]) };
});
const rewrite = (m: PersonMap, id: string) => m.customers.get(id) ?? id;

describe('factsByPerson', () => {
  it('orders: the same as rewriting every id to its person, then uniqueOrders (same orders, same positions), from unique or raw facts', () => {
    fc.assert(
      fc.property(fc.array(order, { maxLength: 30 }), persons, (raw, m) => {
        const expected = uniqueOrders(raw.map((o) => ({ ...o, customerId: rewrite(m, o.customerId) })));
        expect(factsByPerson({ unique: true, orders: uniqueOrders(raw), returns: [], activity: [] }, m).orders).toEqual(expected);
        expect(factsByPerson({ orders: raw, returns: [], activity: [] }, m).orders).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('uniqueOrders keeps the same copy whatever the arrival order', () => {
    fc.assert(
      fc.property(fc.array(order, { maxLength: 20 }), fc.infiniteStream(fc.nat()), (raw, seeds) => {
        const shuffled = [...raw].map((o) => ({ o, k: seeds.next().value as number })).sort((a, b) => a.k - b.k).map((x) => x.o);
        const byKey = (list: OrderFact[]) => new Map(list.map((o) => [`${o.customerId}|${o.orderId}`, o]));
        expect(byKey(uniqueOrders(shuffled))).toEqual(byKey(uniqueOrders(raw)));
      }),
    );
  });

  it("returns, actors, referees and linked visitors' activity become the person's; the rest is kept", () => {
    const m: PersonMap = { customers: new Map([['c2', 'c1']]), visitors: new Map([['a1', 'c1']]) };
    const activity: ActivityFact[] = [
      { kind: 'view', anonymousId: 'a1', at: 1 },
      { kind: 'view', anonymousId: 'a9', at: 1 },
      { kind: 'referral', customerId: 'c3', referralCode: 'R', refereeId: 'c2', at: 2 },
      { kind: 'identify', customerId: 'c2', anonymousId: 'a1', at: 3 },
      { kind: 'review', customerId: 'c3', rating: 5, at: 4 },
    ];
    const facts: Facts = { unique: true, orders: [], returns: [{ customerId: 'c2', orderId: 'o1', at: 5, refundMinor: 100 }], activity };
    const out = factsByPerson(facts, m);
    expect(out.returns).toEqual([{ customerId: 'c1', orderId: 'o1', at: 5, refundMinor: 100 }]);
    expect(out.activity).toEqual([
      { kind: 'view', anonymousId: 'a1', customerId: 'c1', refereeId: undefined, at: 1 },
      { kind: 'view', anonymousId: 'a9', at: 1 },
      { kind: 'referral', customerId: 'c3', referralCode: 'R', refereeId: 'c1', at: 2 },
      { kind: 'identify', customerId: 'c1', anonymousId: 'a1', refereeId: undefined, at: 3 },
      { kind: 'review', customerId: 'c3', rating: 5, at: 4 },
    ]);
    expect(out.activity[4]).toBe(activity[4]); // untouched facts are not copied
  });

  it('with nothing to rewrite the facts are returned as they are', () => {
    const facts: Facts = { unique: true, orders: [{ customerId: 'c1', orderId: 'o1', at: 1, totalMinor: 1, currency: 'USD' }], returns: [], activity: [] };
    expect(factsByPerson(facts, NO_PERSONS)).toBe(facts);
    expect(samePersonMap(NO_PERSONS, { customers: new Map(), visitors: new Map() })).toBe(true);
    expect(samePersonMap(NO_PERSONS, { customers: new Map([['c2', 'c1']]), visitors: new Map() })).toBe(false);
  });
});
