/**
 * The identity the analytics read through (docs/metrics.md, "Persons, not ids"): read from the
 * profile projection's `identity_sources` when a metric is asked, so a merge or an unmerge changes
 * the answers as soon as the profiles projection has folded it, and no analytics row is rewritten.
 */
import type { Kysely } from 'kysely';
import { customerSource, parseSource, type PersonMap } from '@cairn/domain';
import type { ReadModelSchema } from '@cairn/read-models';

/**
 * Every source whose person is someone else, in ONE query (a source that is its own person — most
 * customers — is not read at all): customers merged into another or joined to a smaller customer
 * id through a shared visitor, and visitors linked to a customer. A visitor that is its own person
 * (never linked, or a shared device) is not listed and keeps its anonymous id.
 */
export async function loadPersonMap(db: Kysely<ReadModelSchema>): Promise<PersonMap> {
  const rows = await db.selectFrom('identity_sources').select(['source_id', 'person_id']).whereRef('source_id', '<>', 'person_id').execute();
  const customers = new Map<string, string>();
  const visitors = new Map<string, string>();
  for (const r of rows) {
    const person = parseSource(r.person_id);
    if (person.kind !== 'customer') continue;
    const source = parseSource(r.source_id);
    (source.kind === 'customer' ? customers : visitors).set(source.id, person.id);
  }
  return { customers, visitors };
}

/**
 * One customer's person: its canonical customer id and every customer id that belongs to it (the
 * id itself when the profiles projection has not seen it yet). Two indexed reads.
 */
export async function customerIdsOfPerson(db: Kysely<ReadModelSchema>, customerId: string): Promise<{ customerId: string; customerIds: string[] }> {
  const row = await db.selectFrom('identity_sources').select('person_id').where('source_id', '=', customerSource(customerId)).executeTakeFirst();
  if (!row || parseSource(row.person_id).kind !== 'customer') return { customerId, customerIds: [customerId] };
  const members = await db.selectFrom('identity_sources').select('source_id').where('person_id', '=', row.person_id).execute();
  const ids = new Set<string>([customerId]);
  for (const m of members) {
    const s = parseSource(m.source_id);
    if (s.kind === 'customer') ids.add(s.id);
  }
  return { customerId: parseSource(row.person_id).id, customerIds: [...ids].sort() };
}
