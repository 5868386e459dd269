/**
 * API keys with scopes, kept in the read store (table `api_keys`, migration 510) so that every API
 * process on the same store sees the same keys. A key is `cairn_` + 192 random bits; only its
 * SHA-256 is stored (a fast hash is enough for a secret of that entropy: there is nothing to guess).
 *
 * Lookups: a key found in the store is cached for KEY_CACHE_MS (1 s). A revocation, expiry change or
 * rotation made through another process therefore takes effect here within 1 s; made through this
 * process, at once. Unknown secrets are never cached, so a key created anywhere works everywhere at
 * once. `last_used_at` is written at most once a minute per key (a conditional UPDATE, so several
 * processes together still write it about once a minute).
 *
 * CAIRN_ADMIN_KEY is an admin key held in memory only (it is configuration: change the setting to
 * change it). Without it, the first start on an empty store creates an admin key and hands the
 * secret back once to print. Keys from the former `<dataDir>/api-keys.json` are imported once at
 * start (the file is then renamed `api-keys.json.imported`).
 */
import { createHash, randomBytes, timingSafeEqual } from 'crypto';
import { existsSync, readFileSync, renameSync } from 'fs';
import { join } from 'path';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import type { ReadStore } from '@cairn/read-models';
import type { Logger } from './logger';

/**
 * - `ingest`: POST /v1/events only. Meant for storefront SDKs, so public in every browser.
 * - `read`: every GET of customers, projections, segments, RFM, loyalty, analytics.
 * - `loyalty:write`: server-side loyalty changes (redemptions, adjustments); never give it to a browser.
 * - `admin`: everything, including keys, rebuilds, replays, merges, programs and segment definitions.
 */
export const SCOPES = ['ingest', 'import', 'read', 'loyalty:write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** How long a key found in the store is trusted without asking the store again. */
export const KEY_CACHE_MS = 1000;
/** `last_used_at` is refreshed at most this often per key. */
export const LAST_USED_EVERY_MS = 60_000;
/** Longest grace period a rotation may leave the old secret valid. */
export const MAX_ROTATION_GRACE_SECONDS = 30 * 86_400;
const CACHE_LIMIT = 10_000;
const CONFIG_KEY_ID = 'config-admin';

export interface AuthenticatedKey {
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
}

export interface ApiKeyInfo extends AuthenticatedKey {
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  readonly lastUsedAt: string | null;
  readonly rotatedFrom: string | null;
  readonly state: 'active' | 'expired' | 'revoked';
  /** `config`: CAIRN_ADMIN_KEY, neither revocable nor rotatable through the API. */
  readonly source: 'store' | 'config';
}

export interface CreatedKey {
  readonly key: ApiKeyInfo;
  /** The secret: in this answer only. */
  readonly secret: string;
}

interface Row {
  id: string;
  name: string;
  hash: string;
  scopes: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  rotated_from: string | null;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function newKeySecret(): string {
  return `cairn_${randomBytes(24).toString('base64url')}`;
}

function parseScopes(text: string): Scope[] {
  return text.split(',').filter((s): s is Scope => (SCOPES as readonly string[]).includes(s));
}

function usable(row: Row, now: number): boolean {
  return row.revoked_at === null && (row.expires_at === null || Date.parse(row.expires_at) > now);
}

function info(row: Row, now = Date.now()): ApiKeyInfo {
  return {
    id: row.id,
    name: row.name,
    scopes: parseScopes(row.scopes),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
    rotatedFrom: row.rotated_from,
    state: row.revoked_at !== null ? 'revoked' : usable(row, now) ? 'active' : 'expired',
    source: 'store',
  };
}

/** A store failure while checking a key: 503, the driver's text goes to the log only. */
function unavailable(err: unknown): CairnError {
  return Object.assign(new CairnError(ERROR_CODES.UNAVAILABLE, 'the key store is unavailable; retry'), { cause: err });
}

export class KeyStore {
  private readonly cache = new Map<string, { row: Row; until: number }>();
  private readonly lastUsedWritten = new Map<string, number>();
  private readonly configHash: Buffer | null;

  private constructor(
    private readonly store: ReadStore,
    adminKey: string | undefined,
    private readonly logger?: Logger,
  ) {
    this.configHash = adminKey === undefined ? null : Buffer.from(hashKey(adminKey), 'hex');
  }

  /**
   * Opens the keys of `store`: imports `<dataDir>/api-keys.json` if it is there, and when the store
   * holds no key and no CAIRN_ADMIN_KEY is set, creates an admin key and returns its secret as `created`
   * (unless `createFirst` is false: a process without the API has no one to hand it to).
   */
  static async open(store: ReadStore, opts: { dataDir: string; adminKey?: string; logger?: Logger; createFirst?: boolean }): Promise<{ keys: KeyStore; created: string | null; imported: number }> {
    const keys = new KeyStore(store, opts.adminKey, opts.logger);
    const imported = await keys.importFile(join(opts.dataDir, 'api-keys.json'));
    if (opts.adminKey !== undefined || opts.createFirst === false) return { keys, created: null, imported };
    const any = await store.db.selectFrom('api_keys').select('id').limit(1).executeTakeFirst();
    if (any) return { keys, created: null, imported };
    // Two processes starting together on an empty store: the fixed id lets exactly one insert win.
    const secret = newKeySecret();
    const inserted = await store.db
      .insertInto('api_keys')
      .values({ id: 'first-admin', name: 'admin', hash: hashKey(secret), scopes: 'admin', created_at: new Date().toISOString(), expires_at: null, revoked_at: null, last_used_at: null, rotated_from: null })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return { keys, created: Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0 ? secret : null, imported };
  }

  static allows(key: AuthenticatedKey, scope: Scope): boolean {
    return key.scopes.includes('admin') || key.scopes.includes(scope);
  }

  /** The usable key a presented secret belongs to, or null (unknown, revoked or expired). */
  async find(secret: string): Promise<AuthenticatedKey | null> {
    const hash = hashKey(secret);
    if (this.configHash !== null && timingSafeEqual(Buffer.from(hash, 'hex'), this.configHash)) {
      return { id: CONFIG_KEY_ID, name: 'CAIRN_ADMIN_KEY', scopes: ['admin'] };
    }
    const now = Date.now();
    let row: Row | undefined;
    const cached = this.cache.get(hash);
    if (cached && cached.until > now) {
      row = cached.row;
    } else {
      try {
        row = await this.store.db.selectFrom('api_keys').selectAll().where('hash', '=', hash).executeTakeFirst();
      } catch (err) {
        throw unavailable(err);
      }
      if (row) {
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(hash, { row, until: now + KEY_CACHE_MS });
      } else {
        this.cache.delete(hash);
      }
    }
    if (!row || !usable(row, now)) return null;
    this.touch(row.id, now);
    return { id: row.id, name: row.name, scopes: parseScopes(row.scopes) };
  }

  async list(): Promise<ApiKeyInfo[]> {
    const rows = await this.store.db.selectFrom('api_keys').selectAll().orderBy('created_at').orderBy('id').execute();
    const now = Date.now();
    const out = rows.map((r) => info(r, now));
    if (this.configHash !== null) {
      out.unshift({ id: CONFIG_KEY_ID, name: 'CAIRN_ADMIN_KEY', scopes: ['admin'], createdAt: new Date(0).toISOString(), expiresAt: null, revokedAt: null, lastUsedAt: null, rotatedFrom: null, state: 'active', source: 'config' });
    }
    return out;
  }

  async create(input: { name: string; scopes: readonly Scope[]; expiresAt?: string | null }): Promise<CreatedKey> {
    const secret = newKeySecret();
    const row: Row = {
      id: randomBytes(8).toString('hex'),
      name: input.name,
      hash: hashKey(secret),
      scopes: [...new Set(input.scopes)].join(','),
      created_at: new Date().toISOString(),
      expires_at: input.expiresAt ?? null,
      revoked_at: null,
      last_used_at: null,
      rotated_from: null,
    };
    await this.store.db.insertInto('api_keys').values(row).execute();
    return { key: info(row), secret };
  }

  /** Revokes a key at once (idempotent: a revoked key keeps its first revocation time). */
  async revoke(id: string): Promise<ApiKeyInfo> {
    this.refuseConfigKey(id);
    const now = new Date().toISOString();
    await this.store.db.updateTable('api_keys').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    const row = await this.row(id);
    this.cache.delete(row.hash);
    return info(row);
  }

  /**
   * A new secret for the same name and scopes. The old secret is revoked at once (graceSeconds 0,
   * the default) or stays valid for graceSeconds more (its expiry is brought forward to then).
   * The new key expires at `expiresAt` if given, else never.
   */
  async rotate(id: string, opts: { graceSeconds?: number; expiresAt?: string | null } = {}): Promise<CreatedKey & { previous: ApiKeyInfo }> {
    this.refuseConfigKey(id);
    const grace = opts.graceSeconds ?? 0;
    const secret = newKeySecret();
    const result = await this.store.transaction(async (trx) => {
      const old = await trx.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
      if (!old) throw new CairnError(ERROR_CODES.NOT_FOUND, `no API key with id ${id}`);
      const nowMs = Date.now();
      if (!usable(old, nowMs)) throw new CairnError(ERROR_CODES.OPERATION_CONFLICT, `API key ${id} is ${info(old, nowMs).state}: create a new key instead`);
      const now = new Date(nowMs).toISOString();
      const until = new Date(nowMs + grace * 1000).toISOString();
      const previous: Row =
        grace === 0
          ? { ...old, revoked_at: now }
          : { ...old, expires_at: old.expires_at !== null && old.expires_at < until ? old.expires_at : until };
      const changed = await trx
        .updateTable('api_keys')
        .set({ revoked_at: previous.revoked_at, expires_at: previous.expires_at })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(changed.numUpdatedRows) !== 1) throw new CairnError(ERROR_CODES.OPERATION_CONFLICT, `API key ${id} changed meanwhile; list the keys and retry`);
      const next: Row = {
        id: randomBytes(8).toString('hex'),
        name: old.name,
        hash: hashKey(secret),
        scopes: old.scopes,
        created_at: now,
        expires_at: opts.expiresAt ?? null,
        revoked_at: null,
        last_used_at: null,
        rotated_from: old.id,
      };
      await trx.insertInto('api_keys').values(next).execute();
      return { previous, next };
    });
    this.cache.delete(result.previous.hash);
    return { key: info(result.next), secret, previous: info(result.previous) };
  }

  private async row(id: string): Promise<Row> {
    const row = await this.store.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new CairnError(ERROR_CODES.NOT_FOUND, `no API key with id ${id}`);
    return row;
  }

  private refuseConfigKey(id: string): void {
    if (id === CONFIG_KEY_ID && this.configHash !== null) {
      throw new CairnError(ERROR_CODES.VALIDATION, 'this key is CAIRN_ADMIN_KEY: change or remove that setting instead', { fields: [{ field: 'id', message: 'is set by configuration' }] });
    }
  }

  /** Records use at most once a minute per key; never delays or fails the request. */
  private touch(id: string, now: number): void {
    const last = this.lastUsedWritten.get(id);
    if (last !== undefined && now - last < LAST_USED_EVERY_MS) return;
    if (this.lastUsedWritten.size >= CACHE_LIMIT) this.lastUsedWritten.clear();
    this.lastUsedWritten.set(id, now);
    const stamp = new Date(now).toISOString();
    const before = new Date(now - LAST_USED_EVERY_MS).toISOString();
    void this.store.db
      .updateTable('api_keys')
      .set({ last_used_at: stamp })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', before)]))
      .execute()
      .catch((err) => this.logger?.warn({ err, key: id }, 'could not record when an API key was last used'));
  }

  /** The former key file: each key inserted unless its id or hash is already there; then set aside. */
  private async importFile(file: string): Promise<number> {
    if (!existsSync(file)) return 0;
    let keys: { id: string; name: string; hash: string; scopes: string[]; createdAt: string }[];
    try {
      keys = (JSON.parse(readFileSync(file, 'utf8')) as { keys: typeof keys }).keys ?? [];
    } catch (err) {
      throw new CairnError(ERROR_CODES.CONFIG, `${file}: cannot import API keys (${(err as Error).message}); fix or remove the file`);
    }
    let imported = 0;
    for (const k of keys) {
      if (typeof k?.hash !== 'string' || !/^[0-9a-f]{64}$/.test(k.hash) || typeof k.id !== 'string') continue;
      const r = await this.store.db
        .insertInto('api_keys')
        .values({
          id: k.id,
          name: typeof k.name === 'string' ? k.name : k.id,
          hash: k.hash,
          scopes: parseScopes((Array.isArray(k.scopes) ? k.scopes : []).join(',')).join(','),
          created_at: typeof k.createdAt === 'string' ? k.createdAt : new Date().toISOString(),
          expires_at: null,
          revoked_at: null,
          last_used_at: null,
          rotated_from: null,
        })
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      imported += Number(r.numInsertedOrUpdatedRows ?? 0);
    }
    try {
      renameSync(file, `${file}.imported`);
    } catch (err) {
      // Another process on the same data directory set it aside first.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.logger?.info({ file, imported, found: keys.length }, 'imported API keys into the read store');
    return imported;
  }
}
