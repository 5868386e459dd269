/**
 * API keys with scopes. Keys are stored hashed (SHA-256) in `<dataDir>/api-keys.json`, mode 0600.
 * With no key configured, the first start creates an admin key and hands it back once to print.
 */
import { createHash, randomBytes } from 'crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'fs';
import { dirname, join } from 'path';

export const SCOPES = ['ingest', 'read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface StoredKey {
  readonly id: string;
  readonly name: string;
  readonly hash: string;
  readonly scopes: readonly Scope[];
  readonly createdAt: string;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function newKeySecret(): string {
  return `cairn_${randomBytes(24).toString('base64url')}`;
}

export class KeyRing {
  private readonly byHash = new Map<string, StoredKey>();

  private constructor(
    private readonly file: string | null,
    private stored: StoredKey[],
  ) {
    for (const k of stored) this.byHash.set(k.hash, k);
  }

  /**
   * Opens the key file under `dataDir`. `adminKey` (CAIRN_ADMIN_KEY) adds an admin key that is never
   * written to disk. When no key exists at all, an admin key is created and returned as `created`.
   */
  static open(dataDir: string, adminKey?: string): { ring: KeyRing; created: string | null } {
    const file = join(dataDir, 'api-keys.json');
    const stored: StoredKey[] = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { keys: StoredKey[] }).keys : [];
    const ring = new KeyRing(file, stored);
    if (adminKey !== undefined) {
      ring.byHash.set(hashKey(adminKey), { id: 'env-admin', name: 'CAIRN_ADMIN_KEY', hash: hashKey(adminKey), scopes: ['admin'], createdAt: new Date(0).toISOString() });
      return { ring, created: null };
    }
    if (stored.length > 0) return { ring, created: null };
    const secret = ring.create('admin', ['admin']);
    return { ring, created: secret };
  }

  /** A ring that lives only in memory (tests, one-off tools). */
  static inMemory(keys: { secret: string; scopes: Scope[] }[]): KeyRing {
    return new KeyRing(
      null,
      keys.map((k, i) => ({ id: `mem-${i}`, name: `mem-${i}`, hash: hashKey(k.secret), scopes: k.scopes, createdAt: new Date(0).toISOString() })),
    );
  }

  /** Creates a key and returns its secret (shown once; only the hash is kept). */
  create(name: string, scopes: readonly Scope[]): string {
    const secret = newKeySecret();
    const key: StoredKey = { id: randomBytes(6).toString('hex'), name, hash: hashKey(secret), scopes: [...scopes], createdAt: new Date().toISOString() };
    this.stored = [...this.stored, key];
    this.byHash.set(key.hash, key);
    this.persist();
    return secret;
  }

  /** The key a presented secret belongs to, or null. */
  find(secret: string): StoredKey | null {
    return this.byHash.get(hashKey(secret)) ?? null;
  }

  static allows(key: StoredKey, scope: Scope): boolean {
    return key.scopes.includes('admin') || key.scopes.includes(scope);
  }

  private persist(): void {
    if (this.file === null) return;
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ keys: this.stored }, null, 2), { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
  }
}
