/**
 * Reading identity back from the read store (the profile projection writes it): who a customer id
 * belongs to now, and which person a source belongs to.
 */
import type { Kysely } from 'kysely';
import { DEFAULT_SHARED_DEVICE_LIMIT, customerSource, parseSource, type ActiveMerge } from '@cairn/domain';
import type { ReadModelSchema } from '@cairn/read-models';

const CHUNK = 500;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
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
