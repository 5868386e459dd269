/**
 * The profiles read model: one row per customer, queryable columns plus `doc`, the full Profile
 * JSON (with its fold state) that loadProfiles/getProfile return.
 */
import { PostgresAdapter, sql, type ExpressionBuilder, type Kysely, type OnConflictDatabase, type OnConflictTables } from 'kysely';
import { CairnError, ERROR_CODES, type Profile } from '@cairn/domain';
import type { ProfilesTable, ReadModelSchema } from './schema';

/** SQLite: 16 columns per row, 500 rows = 8,000 variables, far below SQLite's 32,766 and PostgreSQL's 65,535. */
export const SAVE_CHUNK_ROWS = 500;
/** PostgreSQL sends a chunk as one JSON parameter (~0.7 kB per profile). */
export const PG_SAVE_CHUNK_ROWS = 2000;
/** Ids per IN list when loading. */
export const LOAD_CHUNK_IDS = 5000;
export const MAX_PAGE_LIMIT = 1000;

const INTEGER_FIELDS = ['views', 'orders', 'grossMinor', 'refundedMinor', 'netMinor', 'reviews', 'referralsMade'] as const;

export function profileToRow(p: Profile): ProfilesTable {
  for (const f of INTEGER_FIELDS) {
    if (!Number.isSafeInteger(p[f])) throw invalid(`profile ${p.customerId}: ${f} must be a safe integer, got ${p[f]}`);
  }
  if (p.aovMinor !== null && !Number.isSafeInteger(p.aovMinor)) throw invalid(`profile ${p.customerId}: aovMinor must be a safe integer or null`);
  if (typeof p.customerId !== 'string' || p.customerId === '') throw invalid('profile customerId must be a non-empty string');
  return {
    customer_id: p.customerId,
    first_seen_at: p.firstSeenAt,
    last_seen_at: p.lastSeenAt,
    views: p.views,
    orders: p.orders,
    currency: p.currency,
    gross_minor: p.grossMinor,
    refunded_minor: p.refundedMinor,
    net_minor: p.netMinor,
    aov_minor: p.aovMinor,
    last_order_at: p.lastOrder?.occurredAt ?? null,
    reviews: p.reviews,
    average_rating: p.averageRating,
    referrals_made: p.referralsMade,
    channels: p.channels.join(','),
    doc: JSON.stringify(p),
  };
}

function fromDoc(doc: string): Profile {
  return JSON.parse(doc) as Profile;
}

/** Multi-row upsert, chunked. A customer appearing twice keeps its last profile. */
export async function saveProfiles(trx: Kysely<ReadModelSchema>, profiles: readonly Profile[]): Promise<void> {
  if (profiles.length === 0) return;
  // PostgreSQL refuses to update one row twice in a statement; keep the last profile per customer.
  const byId = new Map<string, ProfilesTable>();
  for (const p of profiles) byId.set(p.customerId, profileToRow(p));
  const rows = [...byId.values()];
  const postgres = trx.getExecutor().adapter instanceof PostgresAdapter;
  const chunk = postgres ? PG_SAVE_CHUNK_ROWS : SAVE_CHUNK_ROWS;
  for (let i = 0; i < rows.length; i += chunk) {
    const part = rows.slice(i, i + chunk);
    const insert = postgres
      ? // One JSON parameter instead of 16 per row: ~30% faster on PostgreSQL than a VALUES list
        // (no huge bind/parse), and no 65,535-parameter ceiling.
        trx
          .insertInto('profiles')
          .columns(PROFILE_COLUMNS)
          .expression((eb) =>
            eb.selectFrom(sql<ProfilesTable>`json_populate_recordset(null::profiles, ${JSON.stringify(part)}::json)`.as('r')).select(PROFILE_COLUMNS),
          )
      : trx.insertInto('profiles').values(part);
    await insert.onConflict((oc) => oc.column('customer_id').doUpdateSet(updateFromExcluded)).execute();
  }
}

export const PROFILE_COLUMNS = [
  'customer_id',
  'first_seen_at',
  'last_seen_at',
  'views',
  'orders',
  'currency',
  'gross_minor',
  'refunded_minor',
  'net_minor',
  'aov_minor',
  'last_order_at',
  'reviews',
  'average_rating',
  'referrals_made',
  'channels',
  'doc',
] as const satisfies readonly (keyof ProfilesTable)[];

function updateFromExcluded(eb: ExpressionBuilder<OnConflictDatabase<ReadModelSchema, 'profiles'>, OnConflictTables<'profiles'>>) {
  return {
    first_seen_at: eb.ref('excluded.first_seen_at'),
    last_seen_at: eb.ref('excluded.last_seen_at'),
    views: eb.ref('excluded.views'),
    orders: eb.ref('excluded.orders'),
    currency: eb.ref('excluded.currency'),
    gross_minor: eb.ref('excluded.gross_minor'),
    refunded_minor: eb.ref('excluded.refunded_minor'),
    net_minor: eb.ref('excluded.net_minor'),
    aov_minor: eb.ref('excluded.aov_minor'),
    last_order_at: eb.ref('excluded.last_order_at'),
    reviews: eb.ref('excluded.reviews'),
    average_rating: eb.ref('excluded.average_rating'),
    referrals_made: eb.ref('excluded.referrals_made'),
    channels: eb.ref('excluded.channels'),
    doc: eb.ref('excluded.doc'),
  };
}

/** Profiles by id (absent ids are simply missing from the map), in batched IN lists. */
export async function loadProfiles(db: Kysely<ReadModelSchema>, customerIds: readonly string[]): Promise<Map<string, Profile>> {
  const out = new Map<string, Profile>();
  const ids = [...new Set(customerIds)];
  for (let i = 0; i < ids.length; i += LOAD_CHUNK_IDS) {
    const rows = await db
      .selectFrom('profiles')
      .select(['customer_id', 'doc'])
      .where('customer_id', 'in', ids.slice(i, i + LOAD_CHUNK_IDS))
      .execute();
    for (const r of rows) out.set(r.customer_id, fromDoc(r.doc));
  }
  return out;
}

export async function getProfile(db: Kysely<ReadModelSchema>, customerId: string): Promise<Profile | null> {
  const row = await db.selectFrom('profiles').select('doc').where('customer_id', '=', customerId).executeTakeFirst();
  return row === undefined ? null : fromDoc(row.doc);
}

export function encodeCursor(customerId: string): string {
  return Buffer.from(customerId, 'utf8').toString('base64url');
}

/** Throws CAIRN.VALIDATION unless `cursor` is exactly what encodeCursor produces for some id. */
export function decodeCursor(cursor: string): string {
  if (typeof cursor === 'string' && /^[A-Za-z0-9_-]+$/.test(cursor)) {
    const id = Buffer.from(cursor, 'base64url').toString('utf8');
    if (id !== '' && encodeCursor(id) === cursor) return id;
  }
  throw new CairnError(ERROR_CODES.VALIDATION, 'invalid cursor', { fields: [{ field: 'cursor', message: 'not a cursor returned by this API' }] });
}

/** Keyset pagination by customer_id (byte order on both dialects). `nextCursor` is null on the last page. */
export async function listProfiles(
  db: Kysely<ReadModelSchema>,
  opts: { cursor?: string; limit: number; idPrefix?: string },
): Promise<{ items: Profile[]; nextCursor: string | null }> {
  const { limit } = opts;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new CairnError(ERROR_CODES.VALIDATION, `limit must be an integer from 1 to ${MAX_PAGE_LIMIT}`, {
      fields: [{ field: 'limit', message: `must be an integer from 1 to ${MAX_PAGE_LIMIT}` }],
    });
  }
  const after = opts.cursor === undefined ? undefined : decodeCursor(opts.cursor);
  let q = db.selectFrom('profiles').select(['customer_id', 'doc']).orderBy('customer_id').limit(limit + 1);
  if (after !== undefined) q = q.where('customer_id', '>', after);
  if (opts.idPrefix) q = q.where(sql<string>`substr(customer_id, 1, ${opts.idPrefix.length})`, '=', opts.idPrefix);
  const rows = await q.execute();
  const page = rows.slice(0, limit);
  return {
    items: page.map((r) => fromDoc(r.doc)),
    nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.customer_id) : null,
  };
}

export async function countProfiles(db: Kysely<ReadModelSchema>): Promise<number> {
  const row = await db.selectFrom('profiles').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

function invalid(message: string): CairnError {
  return new CairnError(ERROR_CODES.VALIDATION, message);
}
