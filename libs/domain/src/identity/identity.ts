/**
 * Identity resolution: which sources (a customer's stream `customer-<id>`, a visitor's stream
 * `visitor-<anonymousId>`) are one person.
 *
 * The identity graph has an edge visitor ↔ customer for every anonymous id seen together with a
 * customer id (an `identify`, or any event carrying both ids), and an edge customer ↔ customer for
 * every active admin merge. A person is a connected component. Guard-rail: an anonymous id linked
 * to more than `sharedDeviceLimit` customers is a shared device; it is flagged and its edges are
 * ignored (its anonymous activity stays with the visitor, and it bridges nobody).
 *
 * Resolution is a pure function of the set of links and active merges, never of their order:
 * unmerging removes an edge and the components are simply computed again.
 */

/** Admin identity commands, recorded as events in their own stream. */
export const IDENTITY_STREAM = 'identity-merges';
export const IDENTITY_MERGED = 'cairn.identity.merged.v1';
export const IDENTITY_UNMERGED = 'cairn.identity.unmerged.v1';

export interface CustomersMergedV1 {
  readonly type: typeof IDENTITY_MERGED;
  readonly data: {
    readonly mergeId: string;
    /** The customer whose id survives. */
    readonly survivorId: string;
    /** The customer folded into the survivor. */
    readonly mergedId: string;
    readonly requestedAt: string;
    readonly reason?: string;
  };
}

export interface CustomersUnmergedV1 {
  readonly type: typeof IDENTITY_UNMERGED;
  readonly data: { readonly mergeId: string; readonly requestedAt: string; readonly reason?: string };
}

export type IdentityEvent = CustomersMergedV1 | CustomersUnmergedV1;

export function isIdentityEventType(type: string): type is IdentityEvent['type'] {
  return type === IDENTITY_MERGED || type === IDENTITY_UNMERGED;
}

export const DEFAULT_SHARED_DEVICE_LIMIT = 3;

export interface IdentityLink {
  readonly anonymousId: string;
  readonly customerId: string;
}

export interface ActiveMerge {
  readonly mergeId: string;
  readonly survivorId: string;
  readonly mergedId: string;
}

export const customerSource = (customerId: string): string => `customer-${customerId}`;
export const visitorSource = (anonymousId: string): string => `visitor-${anonymousId}`;

export function parseSource(source: string): { kind: 'customer' | 'visitor'; id: string } {
  if (source.startsWith('customer-')) return { kind: 'customer', id: source.slice('customer-'.length) };
  if (source.startsWith('visitor-')) return { kind: 'visitor', id: source.slice('visitor-'.length) };
  throw new Error(`not a source key: ${source}`);
}

export interface Person {
  /** Source key of the representative: a customer's when the person has one. */
  readonly personId: string;
  /** Sorted source keys. */
  readonly sources: readonly string[];
  readonly customerIds: readonly string[];
  readonly anonymousIds: readonly string[];
}

export interface Resolution {
  readonly persons: readonly Person[];
  readonly personBySource: ReadonlyMap<string, string>;
  /** Anonymous ids linked to more than the limit of customers, sorted. */
  readonly sharedDevices: readonly string[];
}

/**
 * Connected components over `sources` plus every node the links and merges name. The person's id
 * is the smallest customer id not absorbed by a merge (else the smallest customer id, else the
 * smallest visitor key): deterministic, whatever order the facts arrived in.
 */
export function resolveIdentities(
  sources: Iterable<string>,
  links: readonly IdentityLink[],
  merges: readonly ActiveMerge[],
  sharedDeviceLimit: number = DEFAULT_SHARED_DEVICE_LIMIT,
): Resolution {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    let c = x;
    while (c !== r) {
      const next = parent.get(c)!;
      parent.set(c, r);
      c = next;
    }
    return r;
  };
  const add = (x: string) => {
    if (!parent.has(x)) parent.set(x, x);
  };
  const union = (a: string, b: string) => {
    add(a);
    add(b);
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  };
  for (const s of sources) add(s);
  const customersByAnon = new Map<string, Set<string>>();
  for (const l of links) {
    const set = customersByAnon.get(l.anonymousId) ?? new Set<string>();
    set.add(l.customerId);
    customersByAnon.set(l.anonymousId, set);
  }
  const shared: string[] = [];
  for (const [anon, customers] of customersByAnon) {
    if (customers.size > sharedDeviceLimit) {
      shared.push(anon);
      continue;
    }
    for (const c of customers) union(visitorSource(anon), customerSource(c));
  }
  const absorbed = new Set<string>();
  for (const m of merges) {
    union(customerSource(m.survivorId), customerSource(m.mergedId));
    if (m.survivorId !== m.mergedId) absorbed.add(m.mergedId);
  }
  const groups = new Map<string, string[]>();
  for (const node of parent.keys()) {
    const r = find(node);
    const g = groups.get(r);
    if (g) g.push(node);
    else groups.set(r, [node]);
  }
  const persons: Person[] = [];
  const personBySource = new Map<string, string>();
  for (const nodes of groups.values()) {
    nodes.sort();
    const customerIds = nodes.filter((n) => n.startsWith('customer-')).map((n) => parseSource(n).id).sort();
    const anonymousIds = nodes.filter((n) => n.startsWith('visitor-')).map((n) => parseSource(n).id).sort();
    const survivors = customerIds.filter((c) => !absorbed.has(c));
    const personId =
      survivors.length > 0 ? customerSource(survivors[0]!) : customerIds.length > 0 ? customerSource(customerIds[0]!) : nodes[0]!;
    persons.push({ personId, sources: nodes, customerIds, anonymousIds });
    for (const n of nodes) personBySource.set(n, personId);
  }
  persons.sort((a, b) => (a.personId < b.personId ? -1 : 1));
  return { persons, personBySource, sharedDevices: shared.sort() };
}
