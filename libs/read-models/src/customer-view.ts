/**
 * The customer read path: a profile as served (no fold state), the person's identity as served, and
 * the one indexed lookup that reads both for any customer id (its own profile, a merge survivor's,
 * or the profile its linked ids resolve to). The profiles projection writes all of it ready; the
 * reader adds only what depends on the request (the requested id, the lifecycle stage and consent as of now).
 */
import type { Kysely } from 'kysely';
import { consentAsOf, consentLogOf, lifecycleStage, type ActiveMerge, type LifecycleRules, type LifecycleStage, type Profile } from '@cairn/domain';
import type { ReadModelSchema } from './schema';

type Order = { orderId: string; occurredAt: string; totalMinor: number; currency: string };

/** A profile as served over HTTP: everything but the fold state, orders reduced to their summary. */
export type PublicProfile = Omit<Profile, 'state' | 'channels' | 'firstOrder' | 'lastOrder'> & {
  channels: string[];
  firstOrder: Order | null;
  lastOrder: Order | null;
};

export function publicProfile(p: Profile): PublicProfile {
  const { state: _state, lastOrder, firstOrder, ...rest } = p;
  const order = (o: Profile['lastOrder']): Order | null => (o ? { orderId: o.orderId, occurredAt: o.occurredAt, totalMinor: o.totalMinor, currency: o.currency } : null);
  return { ...rest, channels: [...p.channels], firstOrder: order(firstOrder), lastOrder: order(lastOrder) };
}

/** A person's identity, the same for every id that resolves to it (the reader adds `requestedId`). */
export interface PersonIdentity {
  readonly customerId: string;
  readonly customerIds: readonly string[];
  readonly anonymousIds: readonly string[];
  /** Anonymous ids linked to this person's customers but shared by more customers than the limit (not merged). */
  readonly sharedDevices: readonly string[];
  readonly merges: readonly ActiveMerge[];
}

export interface StoredCustomer {
  /** `publicProfile` of the person's profile, JSON. */
  readonly view: string;
  /** `PersonIdentity`, JSON. */
  readonly identity: string;
  readonly firstSeenAt: string;
  readonly firstOrderAt: string | null;
  readonly lastOrderAt: string | null;
}

/**
 * One indexed read (primary key of `customer_lookup`, then of `profiles`). Undefined when the store
 * has no ready row for the id: either the id is unknown, or its rows were written before migration
 * 520 and not since (the caller then resolves identity the old way).
 */
export async function readStoredCustomer(db: Kysely<ReadModelSchema>, customerId: string): Promise<StoredCustomer | undefined> {
  const row = await db
    .selectFrom('customer_lookup as l')
    .innerJoin('profiles as p', 'p.customer_id', 'l.person_id')
    .select(['p.view', 'p.identity', 'p.first_seen_at', 'p.first_order_at', 'p.last_order_at'])
    .where('l.customer_id', '=', customerId)
    .executeTakeFirst();
  if (row === undefined || row.view == null || row.identity == null) return undefined;
  return { view: row.view, identity: row.identity, firstSeenAt: row.first_seen_at, firstOrderAt: row.first_order_at ?? null, lastOrderAt: row.last_order_at };
}

/** GET /v1/customers/:id's body: the stored view, the lifecycle stage as of `asOf`, the identity with the requested id. */
export type ServedCustomer = PublicProfile & { lifecycleStage: LifecycleStage; identity: PersonIdentity & { requestedId: string } };

export function servedCustomer(stored: StoredCustomer, requestedId: string, asOf: Date, rules: LifecycleRules): ServedCustomer {
  const view = JSON.parse(stored.view) as PublicProfile;
  const identity = JSON.parse(stored.identity) as PersonIdentity;
  // lifecycleStage reads only these dates of a profile (the customer spec compares with the full one); the row has them as columns.
  const dates = {
    firstSeenAt: stored.firstSeenAt,
    firstOrder: stored.firstOrderAt === null ? null : { occurredAt: stored.firstOrderAt },
    lastOrder: stored.lastOrderAt === null ? null : { occurredAt: stored.lastOrderAt },
  } as unknown as Profile;
  // The stored view holds consent after every change; a change dated after `asOf` (up to 24 h ahead) does not count yet.
  const consent = consentAsOf(consentLogOf(view.consent), asOf);
  return { ...view, consent, lifecycleStage: lifecycleStage(dates, asOf, rules), identity: { requestedId, ...identity } };
}
