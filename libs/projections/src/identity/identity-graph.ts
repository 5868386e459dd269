/**
 * The identity graph in memory: anonymous↔customer links, admin merges in force, and the person
 * each known source belongs to. Small per node (ids only), so the projection keeps all of it; the
 * heavy part (each source's folded profile) is cached separately under the memory budget.
 *
 * Components are found over the edges alone (links and merges): a person is a connected
 * component (minus shared devices, which `resolveIdentities` handles), so whatever a batch
 * changed, a search from the changed sources finds every source whose person may change.
 */
import type { Kysely } from 'kysely';
import { customerSource, parseSource, visitorSource, type ActiveMerge, type IdentityLink } from '@cairn/domain';
import type { PersonIdentity, ReadModelSchema } from '@cairn/read-models';

export class IdentityGraph {
  /** source → person (source key of the person's representative). Change it through `assign`. */
  readonly personOf = new Map<string, string>();
  /** person → how many sources it has. */
  private readonly sizes = new Map<string, number>();
  /** Sources whose own profile document is stored in `identity_sources.doc` (else it is their person's `profiles.doc`). */
  readonly inline = new Set<string>();
  private readonly anonsOf = new Map<string, Set<string>>();
  private readonly customersOf = new Map<string, Set<string>>();
  readonly merges = new Map<string, ActiveMerge>();
  private readonly mergesOf = new Map<string, Set<string>>();

  static async load(db: Kysely<ReadModelSchema>): Promise<IdentityGraph> {
    const g = new IdentityGraph();
    const sources = await db.selectFrom('identity_sources').select(['source_id', 'person_id', (eb) => eb('doc', 'is not', null).as('has_doc')]).execute();
    for (const r of sources) {
      g.assign(r.source_id, r.person_id);
      if (Boolean(Number(r.has_doc))) g.inline.add(r.source_id);
    }
    for (const l of await db.selectFrom('identity_links').select(['anonymous_id', 'customer_id']).execute()) g.link(l.anonymous_id, l.customer_id);
    for (const m of await db.selectFrom('identity_merges').select(['merge_id', 'survivor_id', 'merged_id']).execute()) {
      g.merge({ mergeId: m.merge_id, survivorId: m.survivor_id, mergedId: m.merged_id });
    }
    return g;
  }

  assign(source: string, person: string): void {
    const old = this.personOf.get(source);
    if (old === person) return;
    if (old !== undefined) {
      const n = (this.sizes.get(old) ?? 1) - 1;
      if (n <= 0) this.sizes.delete(old);
      else this.sizes.set(old, n);
    }
    this.personOf.set(source, person);
    this.sizes.set(person, (this.sizes.get(person) ?? 0) + 1);
  }

  /** Whether some source belongs to this person (its profiles row is then that person's, not a source's own). */
  isPerson(key: string): boolean {
    return this.sizes.has(key);
  }

  hasLink(anonymousId: string, customerId: string): boolean {
    return this.customersOf.get(anonymousId)?.has(customerId) ?? false;
  }

  link(anonymousId: string, customerId: string): void {
    add(this.customersOf, anonymousId, customerId);
    add(this.anonsOf, customerId, anonymousId);
  }

  merge(m: ActiveMerge): void {
    this.merges.set(m.mergeId, m);
    add(this.mergesOf, m.survivorId, m.mergeId);
    add(this.mergesOf, m.mergedId, m.mergeId);
  }

  unmerge(mergeId: string): ActiveMerge | undefined {
    const m = this.merges.get(mergeId);
    if (!m) return undefined;
    this.merges.delete(mergeId);
    this.mergesOf.get(m.survivorId)?.delete(mergeId);
    this.mergesOf.get(m.mergedId)?.delete(mergeId);
    return m;
  }

  /** Every source connected to the seeds by links and merges, with those edges. */
  component(seeds: Iterable<string>): { nodes: Set<string>; links: IdentityLink[]; merges: ActiveMerge[] } {
    const nodes = new Set<string>();
    const links: IdentityLink[] = [];
    const merges = new Map<string, ActiveMerge>();
    const stack = [...seeds];
    while (stack.length > 0) {
      const s = stack.pop()!;
      if (nodes.has(s)) continue;
      nodes.add(s);
      const { kind, id } = parseSource(s);
      if (kind === 'visitor') {
        for (const c of this.customersOf.get(id) ?? []) {
          links.push({ anonymousId: id, customerId: c });
          stack.push(customerSource(c));
        }
      } else {
        for (const a of this.anonsOf.get(id) ?? []) stack.push(visitorSource(a));
        for (const mid of this.mergesOf.get(id) ?? []) {
          const m = this.merges.get(mid)!;
          merges.set(mid, m);
          stack.push(customerSource(m.survivorId), customerSource(m.mergedId));
        }
      }
    }
    return { nodes, links, merges: [...merges.values()] };
  }

  /**
   * A person's identity from its member sources (every source whose person it is), as
   * `resolveCustomer` reads it from the tables: the member customers and visitors, plus the
   * anonymous ids linked to a member customer unless linked to more customers than
   * `sharedDeviceLimit` (those are listed as shared devices), and the merges in force that name a
   * member customer.
   */
  identity(person: string, members: Iterable<string>, sharedDeviceLimit: number): PersonIdentity {
    const customerIds: string[] = [];
    const anonymousIds = new Set<string>();
    const shared = new Set<string>();
    const merges = new Map<string, ActiveMerge>();
    for (const s of members) {
      const { kind, id } = parseSource(s);
      if (kind === 'customer') customerIds.push(id);
      else anonymousIds.add(id);
    }
    for (const c of customerIds) {
      for (const a of this.anonsOf.get(c) ?? []) {
        if ((this.customersOf.get(a)?.size ?? 0) > sharedDeviceLimit) shared.add(a);
        else anonymousIds.add(a);
      }
      for (const mid of this.mergesOf.get(c) ?? []) merges.set(mid, this.merges.get(mid)!);
    }
    return {
      customerId: parseSource(person).id,
      customerIds: customerIds.sort(),
      anonymousIds: [...anonymousIds].sort(),
      sharedDevices: [...shared].sort(),
      merges: [...merges.values()].sort((a, b) => (a.mergeId < b.mergeId ? -1 : a.mergeId > b.mergeId ? 1 : 0)).map((m) => ({ mergeId: m.mergeId, survivorId: m.survivorId, mergedId: m.mergedId })),
    };
  }

}

function add(map: Map<string, Set<string>>, key: string, value: string): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
}
