/**
 * Loyalty read-model rows: each customer's facts, and the referral links that say whose facts a
 * ledger also needs (friends, referrers, code owners). The ledger itself is computed from these at
 * query time, for the as-of instant asked, with the pure `computeLedger`.
 */
import type { Kysely } from 'kysely';
import type { LoyaltyFact } from '@cairn/domain';
import type { LoyaltyFactsTable, LoyaltyLinksTable, ReadModelSchema } from '@cairn/read-models';

const IN_CHUNK = 1000;

export function linksOf(f: LoyaltyFact): LoyaltyLinksTable[] {
  const links: LoyaltyLinksTable[] = [];
  if (f.kind === 'referral') {
    links.push({ kind: 'code-owner', key: f.referralCode, customer_id: f.customerId, fact_id: f.id });
    if (f.refereeId !== undefined) links.push({ kind: 'referee', key: f.refereeId, customer_id: f.customerId, fact_id: f.id });
  }
  if (f.kind === 'purchase' && f.referralCode !== undefined) links.push({ kind: 'code-use', key: f.referralCode, customer_id: f.customerId, fact_id: f.id });
  return links;
}

export function loyaltyFactRow(f: LoyaltyFact): LoyaltyFactsTable {
  return { customer_id: f.customerId, fact_id: f.id, kind: f.kind, occurred_at: f.occurredAt, doc: JSON.stringify(f) };
}

async function factsOf(db: Kysely<ReadModelSchema>, customerIds: readonly string[], kinds?: readonly string[]): Promise<LoyaltyFact[]> {
  const out: LoyaltyFact[] = [];
  const ids = [...new Set(customerIds)];
  for (let i = 0; i < ids.length; i += IN_CHUNK) {
    let q = db.selectFrom('loyalty_facts').select('doc').where('customer_id', 'in', ids.slice(i, i + IN_CHUNK));
    if (kinds) q = q.where('kind', 'in', [...kinds]);
    for (const r of await q.execute()) out.push(JSON.parse(r.doc) as LoyaltyFact);
  }
  return out;
}

async function linked(db: Kysely<ReadModelSchema>, kind: string, keys: readonly string[]): Promise<string[]> {
  const unique = [...new Set(keys)];
  const out: string[] = [];
  for (let i = 0; i < unique.length; i += IN_CHUNK) {
    const rows = await db.selectFrom('loyalty_links').select('customer_id').where('kind', '=', kind).where('key', 'in', unique.slice(i, i + IN_CHUNK)).execute();
    for (const r of rows) out.push(r.customer_id);
  }
  return out;
}

/**
 * Everything `computeLedger(customerId, …)` needs: the customer's facts, the facts of its friends
 * (as referrer) and referrers (as friend), and the referral facts deciding who owns each code used.
 */
export async function loadLedgerFacts(db: Kysely<ReadModelSchema>, customerId: string): Promise<LoyaltyFact[]> {
  const own = await factsOf(db, [customerId]);
  const myCodes = own.flatMap((f) => (f.kind === 'referral' ? [f.referralCode] : []));
  const named = own.flatMap((f) => (f.kind === 'referral' && f.refereeId !== undefined ? [f.refereeId] : []));
  const usedCodes = own.flatMap((f) => (f.kind === 'purchase' && f.referralCode !== undefined ? [f.referralCode] : []));
  const related = new Set<string>([
    ...named,
    ...(await linked(db, 'code-use', myCodes)),
    ...(await linked(db, 'referee', [customerId])),
    ...(await linked(db, 'code-owner', [...usedCodes, ...myCodes])),
  ]);
  related.delete(customerId);
  const others = await factsOf(db, [...related]);
  // Who owns the codes the friends used (a friend's first order may name another referrer's code).
  const friendCodes = others.flatMap((f) => (f.kind === 'purchase' && f.referralCode !== undefined ? [f.referralCode] : []));
  const owners = (await linked(db, 'code-owner', friendCodes)).filter((id) => id !== customerId && !related.has(id));
  const ownerReferrals = await factsOf(db, owners, ['referral']);
  return [...own, ...others, ...ownerReferrals];
}

/** The facts of each of `customerIds`, their own only (one query per thousand), by customer. */
export async function loadOwnFacts(db: Kysely<ReadModelSchema>, customerIds: readonly string[]): Promise<Map<string, LoyaltyFact[]>> {
  const out = new Map<string, LoyaltyFact[]>();
  for (const f of await factsOf(db, customerIds)) (out.get(f.customerId) ?? out.set(f.customerId, []).get(f.customerId)!).push(f);
  return out;
}

/**
 * Customers whose ledger needs other customers' facts (`loadLedgerFacts`): those with a referral or
 * a referral code used, and those a referral names as the friend.
 */
export async function referralInvolved(db: Kysely<ReadModelSchema>): Promise<Set<string>> {
  const out = new Set<string>();
  for (const r of await db.selectFrom('loyalty_links').select(['kind', 'key', 'customer_id']).execute()) {
    out.add(r.customer_id);
    if (r.kind === 'referee') out.add(r.key);
  }
  return out;
}
