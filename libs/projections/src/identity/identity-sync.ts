/**
 * Profiles with identity: one folded profile per source (customer or visitor stream), persons
 * resolved from the identity graph, and each person's profile the combination of its sources'.
 *
 * `syncIdentity` runs inside one read-store transaction, for the profile projection's batches and
 * for the admin merge/unmerge commands alike: it applies new admin identity events, folds the
 * batch into the source profiles, records anonymous↔customer links, and re-derives every person
 * the changes touch (their whole old and new components). Persons are a pure function of the set
 * of sources, links and merges, so arrival order, batching and restarts do not change them.
 */
import { PostgresAdapter, type Kysely } from 'kysely';
import {
  DEFAULT_SHARED_DEVICE_LIMIT,
  IDENTITY_MERGED,
  IDENTITY_UNMERGED,
  combineProfiles,
  customerSource,
  evolveProfileMany,
  parseSource,
  resolveIdentities,
  streamFor,
  visitorSource,
  type ActiveMerge,
  type IdentityLink,
  type Profile,
  type ProfileRules,
  type RecordedCairnEvent,
} from '@cairn/domain';
import { loadProfiles, saveProfiles, type ReadModelSchema } from '@cairn/read-models';
import type { IdentityLog } from './identity-log';
import { markSegmentsDirty } from '../segments/segment-engine';

export interface IdentityRules extends ProfileRules {
  /** An anonymous id linked to more customers than this is a shared device (default 3). */
  readonly sharedDeviceLimit?: number;
}

const CHUNK = 500;
const ADMIN_REVISION = 'admin_revision';

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

function isPostgres(db: Kysely<ReadModelSchema>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** Serialises identity work across processes (PostgreSQL row lock); returns the applied admin revision. */
async function lockAndReadRevision(trx: Kysely<ReadModelSchema>): Promise<bigint | null> {
  await trx.insertInto('identity_state').values({ name: ADMIN_REVISION, value: '' }).onConflict((oc) => oc.column('name').doNothing()).execute();
  let q = trx.selectFrom('identity_state').select('value').where('name', '=', ADMIN_REVISION);
  if (isPostgres(trx)) q = q.forUpdate();
  const row = await q.executeTakeFirstOrThrow();
  return row.value === '' ? null : BigInt(row.value);
}

export async function syncIdentity(
  trx: Kysely<ReadModelSchema>,
  events: readonly RecordedCairnEvent[],
  rules: IdentityRules,
  log?: IdentityLog,
): Promise<void> {
  const limit = rules.sharedDeviceLimit ?? DEFAULT_SHARED_DEVICE_LIMIT;
  const seeds = new Set<string>();
  const revision = await lockAndReadRevision(trx);

  // 1. Admin merges and unmerges not applied yet.
  if (log) {
    const admin = await log.readAfter(revision);
    for (const { event } of admin) {
      if (event.type === IDENTITY_MERGED) {
        const d = event.data;
        await trx
          .insertInto('identity_merges')
          .values({ merge_id: d.mergeId, survivor_id: d.survivorId, merged_id: d.mergedId, requested_at: d.requestedAt })
          .onConflict((oc) => oc.column('merge_id').doNothing())
          .execute();
        seeds.add(customerSource(d.survivorId)).add(customerSource(d.mergedId));
      } else if (event.type === IDENTITY_UNMERGED) {
        const row = await trx.selectFrom('identity_merges').selectAll().where('merge_id', '=', event.data.mergeId).executeTakeFirst();
        if (row) {
          await trx.deleteFrom('identity_merges').where('merge_id', '=', row.merge_id).execute();
          seeds.add(customerSource(row.survivor_id)).add(customerSource(row.merged_id));
        }
      }
    }
    if (admin.length > 0) {
      await trx.updateTable('identity_state').set({ value: admin[admin.length - 1]!.revision.toString() }).where('name', '=', ADMIN_REVISION).execute();
    }
  }

  // 2. Fold the batch into its sources' own profiles; collect anonymous↔customer links.
  const bySource = new Map<string, RecordedCairnEvent[]>();
  const links = new Map<string, IdentityLink>();
  for (const e of events) {
    const source = streamFor(e.data);
    const list = bySource.get(source);
    if (list) list.push(e);
    else bySource.set(source, [e]);
    const { customerId, anonymousId } = e.data;
    if (customerId !== undefined && anonymousId !== undefined) {
      links.set(`${anonymousId}\u0000${customerId}`, { anonymousId, customerId });
      seeds.add(customerSource(customerId)).add(visitorSource(anonymousId));
    }
  }
  for (const part of chunks([...links.values()])) {
    await trx
      .insertInto('identity_links')
      .values(part.map((l) => ({ anonymous_id: l.anonymousId, customer_id: l.customerId })))
      .onConflict((oc) => oc.columns(['anonymous_id', 'customer_id']).doNothing())
      .execute();
  }
  for (const s of bySource.keys()) seeds.add(s);
  if (seeds.size === 0) return;

  // 3. The touched components, old and new, with every edge of every node in them.
  const graph = await loadComponents(trx, seeds);
  const docs = graph.rows;
  const changedDocs = new Set<string>();
  // Profiles folded before identity existed (profiles v1) seed their customer's own source; a
  // profiles row that is a person's combination (some source maps to it) is not legacy.
  const candidates = [...bySource.keys()].filter((s) => s.startsWith('customer-') && !docs.has(s));
  for (const part of chunks(candidates)) {
    const persons = await trx.selectFrom('identity_sources').select('person_id').where('person_id', 'in', part).execute();
    const combined = new Set(persons.map((r) => r.person_id));
    const legacy = part.filter((s) => !combined.has(s)).map((s) => parseSource(s).id);
    if (legacy.length === 0) continue;
    for (const [id, p] of await loadProfiles(trx, legacy)) docs.set(customerSource(id), { person: null, profile: p });
  }
  for (const [source, list] of bySource) {
    const key = source.startsWith('customer-') ? parseSource(source).id : source;
    const p = evolveProfileMany(docs.get(source)?.profile, key, list, rules);
    docs.set(source, { person: docs.get(source)?.person ?? null, profile: p });
    changedDocs.add(source);
  }

  // 4. Resolve persons; write sources whose doc or person changed, and the persons' profiles.
  const resolution = resolveIdentities(graph.nodes, graph.links, graph.merges, limit);
  const sourceRows: { source_id: string; person_id: string; doc: string }[] = [];
  for (const [source, row] of docs) {
    const person = resolution.personBySource.get(source) ?? source;
    if (changedDocs.has(source) || row.person !== person) sourceRows.push({ source_id: source, person_id: person, doc: JSON.stringify(row.profile) });
  }
  for (const part of chunks(sourceRows)) {
    await trx
      .insertInto('identity_sources')
      .values(part)
      .onConflict((oc) => oc.column('source_id').doUpdateSet((eb) => ({ person_id: eb.ref('excluded.person_id'), doc: eb.ref('excluded.doc') })))
      .execute();
  }
  const profiles: Profile[] = [];
  const livePersons = new Set<string>();
  for (const person of resolution.persons) {
    if (person.customerIds.length === 0) continue;
    const parts = person.sources.map((s) => docs.get(s)?.profile).filter((p): p is Profile => p !== undefined);
    if (parts.length === 0) continue;
    const customerId = parseSource(person.personId).id;
    livePersons.add(customerId);
    profiles.push(combineProfiles(parts, customerId));
  }
  await saveProfiles(trx, profiles);
  const stale = [...graph.oldPersons].filter((p) => p.startsWith('customer-')).map((p) => parseSource(p).id).filter((id) => !livePersons.has(id));
  for (const part of chunks(stale)) await trx.deleteFrom('profiles').where('customer_id', 'in', part).execute();
  // Rule-based segments re-evaluate these persons (and drop the ones merged away) within moments.
  await markSegmentsDirty(trx, [...livePersons, ...stale]);
}

interface LoadedGraph {
  readonly nodes: Set<string>;
  readonly links: IdentityLink[];
  readonly merges: ActiveMerge[];
  readonly rows: Map<string, { person: string | null; profile: Profile }>;
  readonly oldPersons: Set<string>;
}

/** Breadth-first over links, merges and old person membership, one IN query per kind per level. */
async function loadComponents(trx: Kysely<ReadModelSchema>, seeds: Set<string>): Promise<LoadedGraph> {
  const nodes = new Set<string>(seeds);
  const links = new Map<string, IdentityLink>();
  const merges = new Map<string, ActiveMerge>();
  const rows = new Map<string, { person: string | null; profile: Profile }>();
  const oldPersons = new Set<string>();
  const expandedPersons = new Set<string>();
  let frontier = [...seeds];
  while (frontier.length > 0) {
    const next = new Set<string>();
    const reach = (s: string) => {
      if (!nodes.has(s)) {
        nodes.add(s);
        next.add(s);
      }
    };
    const customers = frontier.filter((s) => s.startsWith('customer-')).map((s) => parseSource(s).id);
    const anons = new Set(frontier.filter((s) => s.startsWith('visitor-')).map((s) => parseSource(s).id));
    for (const part of chunks(frontier)) {
      const found = await trx.selectFrom('identity_sources').select(['source_id', 'person_id', 'doc']).where('source_id', 'in', part).execute();
      for (const r of found) {
        rows.set(r.source_id, { person: r.person_id, profile: JSON.parse(r.doc) as Profile });
        oldPersons.add(r.person_id);
      }
    }
    const persons = [...new Set(frontier.map((s) => rows.get(s)?.person).filter((p): p is string => p !== undefined && p !== null))].filter(
      (p) => !expandedPersons.has(p),
    );
    for (const p of persons) expandedPersons.add(p);
    for (const part of chunks(persons)) {
      const members = await trx.selectFrom('identity_sources').select('source_id').where('person_id', 'in', part).execute();
      for (const m of members) reach(m.source_id);
    }
    for (const part of chunks(customers)) {
      const found = await trx.selectFrom('identity_links').select('anonymous_id').where('customer_id', 'in', part).execute();
      for (const l of found) anons.add(l.anonymous_id);
      const ms = await trx
        .selectFrom('identity_merges')
        .select(['merge_id', 'survivor_id', 'merged_id'])
        .where((eb) => eb.or([eb('survivor_id', 'in', part), eb('merged_id', 'in', part)]))
        .execute();
      for (const m of ms) {
        merges.set(m.merge_id, { mergeId: m.merge_id, survivorId: m.survivor_id, mergedId: m.merged_id });
        reach(customerSource(m.survivor_id));
        reach(customerSource(m.merged_id));
      }
    }
    const newAnons = [...anons];
    for (const part of chunks(newAnons)) {
      const found = await trx.selectFrom('identity_links').select(['anonymous_id', 'customer_id']).where('anonymous_id', 'in', part).execute();
      for (const l of found) {
        const key = `${l.anonymous_id}\u0000${l.customer_id}`;
        if (links.has(key)) continue;
        links.set(key, { anonymousId: l.anonymous_id, customerId: l.customer_id });
        // Even a shared device's customers are loaded: they may have been bridged by it before.
        reach(customerSource(l.customer_id));
        reach(visitorSource(l.anonymous_id));
      }
    }
    frontier = [...next];
  }
  return { nodes, links: [...links.values()], merges: [...merges.values()], rows, oldPersons };
}

/** Who a customer id belongs to now: the person's customer id and every id linked to it. */
export interface ResolvedCustomer {
  readonly requestedId: string;
  readonly customerId: string;
  readonly customerIds: readonly string[];
  readonly anonymousIds: readonly string[];
  /** Anonymous ids linked to this person's customers but flagged as shared devices (not merged). */
  readonly sharedDevices: readonly string[];
  readonly merges: readonly ActiveMerge[];
}

export async function resolveCustomer(db: Kysely<ReadModelSchema>, customerId: string, sharedDeviceLimit = DEFAULT_SHARED_DEVICE_LIMIT): Promise<ResolvedCustomer | null> {
  const row = await db.selectFrom('identity_sources').select('person_id').where('source_id', '=', customerSource(customerId)).executeTakeFirst();
  if (!row) return null;
  const members = await db.selectFrom('identity_sources').select('source_id').where('person_id', '=', row.person_id).orderBy('source_id').execute();
  const customerIds = new Set<string>();
  const anonymousIds = new Set<string>();
  for (const m of members) {
    const s = parseSource(m.source_id);
    (s.kind === 'customer' ? customerIds : anonymousIds).add(s.id);
  }
  const ids = [...customerIds];
  const links = ids.length === 0 ? [] : await db.selectFrom('identity_links').select(['anonymous_id', 'customer_id']).where('customer_id', 'in', ids).execute();
  const anonOfLinks = [...new Set(links.map((l) => l.anonymous_id))];
  const counts =
    anonOfLinks.length === 0
      ? []
      : await db
          .selectFrom('identity_links')
          .select(['anonymous_id', (eb) => eb.fn.countAll<number>().as('n')])
          .where('anonymous_id', 'in', anonOfLinks)
          .groupBy('anonymous_id')
          .execute();
  const shared = new Set(counts.filter((c) => Number(c.n) > sharedDeviceLimit).map((c) => c.anonymous_id));
  for (const a of anonOfLinks) if (!shared.has(a)) anonymousIds.add(a);
  const merges =
    ids.length === 0
      ? []
      : await db
          .selectFrom('identity_merges')
          .select(['merge_id', 'survivor_id', 'merged_id'])
          .where((eb) => eb.or([eb('survivor_id', 'in', ids), eb('merged_id', 'in', ids)]))
          .orderBy('merge_id')
          .execute();
  return {
    requestedId: customerId,
    customerId: parseSource(row.person_id).kind === 'customer' ? parseSource(row.person_id).id : customerId,
    customerIds: [...customerIds].sort(),
    anonymousIds: [...anonymousIds].sort(),
    sharedDevices: [...shared].sort(),
    merges: merges.map((m) => ({ mergeId: m.merge_id, survivorId: m.survivor_id, mergedId: m.merged_id })),
  };
}

/** Maps source keys (`customer-…`, `visitor-…`) to their person's key, for other read models ("later metrics"). */
export async function personsOf(db: Kysely<ReadModelSchema>, sources: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const part of chunks([...new Set(sources)])) {
    const rows = await db.selectFrom('identity_sources').select(['source_id', 'person_id']).where('source_id', 'in', part).execute();
    for (const r of rows) out.set(r.source_id, r.person_id);
  }
  return out;
}
