/**
 * Analytics count persons, not raw ids: the facts keep the `customerId` / `anonymousId` an event
 * came with (rule-free, never rewritten), and the metrics read them through the identity resolved
 * at read time (the profile projection's `identity_sources`), so a merge or an unmerge changes
 * every answer at once and rebuilds nothing.
 */
import { beatsOrder, uniqueOrders, type ActivityFact, type Facts, type OrderFact, type RefundFact } from './metrics';

/**
 * Who answers for an id: only the ids whose person is someone else are listed (a customer merged
 * into a survivor, or one whose person's smallest id is another customer's; a visitor linked to a
 * customer). An id not listed is its own person.
 */
export interface PersonMap {
  /** customer id → the person's canonical customer id (the id GET /v1/customers/:id answers as `customerId`). */
  readonly customers: ReadonlyMap<string, string>;
  /** anonymous id → the canonical customer id of the person it belongs to (shared devices are not listed). */
  readonly visitors: ReadonlyMap<string, string>;
}

export const NO_PERSONS: PersonMap = { customers: new Map(), visitors: new Map() };

export function isIdentityMap(m: PersonMap): boolean {
  return m.customers.size === 0 && m.visitors.size === 0;
}

/** Whether two maps say the same (same entries). */
export function samePersonMap(a: PersonMap, b: PersonMap): boolean {
  const same = (x: ReadonlyMap<string, string>, y: ReadonlyMap<string, string>) => {
    if (x.size !== y.size) return false;
    for (const [k, v] of x) if (y.get(k) !== v) return false;
    return true;
  };
  return same(a.customers, b.customers) && same(a.visitors, b.visitors);
}

/**
 * The facts as persons: every customer id (buyer, returner, actor, referee) becomes its person's
 * canonical id, and anonymous activity of a visitor linked to a customer becomes that person's.
 * Orders are then unique per (person, orderId) — the same order id sent under two ids of one
 * person counts once, as the person's profile counts it. With nothing to rewrite the facts are
 * returned as they are (no copy).
 */
export function factsByPerson(facts: Facts, persons: PersonMap): Facts {
  if (isIdentityMap(persons)) return facts;
  const c = persons.customers;
  const v = persons.visitors;
  // Orders of two ids of one person may share an order id: keep the earliest, as uniqueOrders does.
  // Facts already unique per (id, orderId) can only collide within a person that has several ids,
  // so only those persons' orders are keyed (a merge costs its persons, not a pass over every key).
  let orders: OrderFact[];
  if (!facts.unique) orders = uniqueOrders(facts.orders.map((o) => (c.has(o.customerId) ? { ...o, customerId: c.get(o.customerId)! } : o)));
  else {
    const several = new Set(c.values());
    orders = [];
    const index = new Map<string, number>();
    for (const o of facts.orders) {
      const to = c.get(o.customerId);
      const x = to === undefined ? o : { ...o, customerId: to };
      if (to === undefined && !several.has(o.customerId)) {
        orders.push(x);
        continue;
      }
      const k = `${x.customerId}\u0000${x.orderId}`;
      const i = index.get(k);
      if (i === undefined) {
        index.set(k, orders.length);
        orders.push(x);
      } else if (beatsOrder(x, orders[i]!)) orders[i] = x;
    }
  }
  const returns: RefundFact[] = facts.returns.map((r) => {
    const to = c.get(r.customerId);
    return to === undefined ? r : { ...r, customerId: to };
  });
  const activity: ActivityFact[] = facts.activity.map((a) => {
    const customerId = a.customerId ? (c.get(a.customerId) ?? a.customerId) : a.anonymousId ? (v.get(a.anonymousId) ?? a.customerId) : a.customerId;
    const refereeId = a.refereeId ? (c.get(a.refereeId) ?? a.refereeId) : a.refereeId;
    return customerId === a.customerId && refereeId === a.refereeId ? a : { ...a, customerId, refereeId };
  });
  return { unique: true, orders, returns, activity };
}
