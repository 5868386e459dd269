/**
 * Keys in the shared read store: two API instances (as two `cairn api` processes would be) on one
 * SQLite file or one PostgreSQL schema. A key created through one works on the other at once; a key
 * revoked on one is refused on the other within KEY_CACHE_MS (1 s); rotation, expiry, last use;
 * the first-start admin key and the one-time import of api-keys.json.
 */
import { randomBytes, randomUUID } from 'crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Client } from 'pg';
import { loadConfig } from '@cairn/config';
import { KEY_CACHE_MS, hashKey, newKeySecret } from '@cairn/runtime';
import { composeCairn, type CairnProcess } from '../../../../cli/src/compose';
import { PG_URL } from '../../../../../test/support/read-stores';

const view = (customerId: string) => ({ id: randomUUID(), type: 'view', customerId, occurredAt: '2026-03-01T10:00:00Z', channel: 'web', productId: 'p1' });

async function compose(dataDir: string, readModel: string, opts: { api: boolean; projector: boolean; eventStore?: string; adminKey?: string }): Promise<CairnProcess> {
  const config = loadConfig(
    { CAIRN_LOG_LEVEL: 'warn' },
    { port: 0, esdbPort: 0, dataDir, readModel, ...(opts.eventStore ? { eventStore: opts.eventStore } : {}), ...(opts.adminKey ? { adminKey: opts.adminKey } : {}) },
  );
  config.host = '127.0.0.1';
  return composeCairn(config, { api: opts.api, projector: opts.projector });
}

/** Polls `check` until it is true; fails naming what it waited for. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Store {
  readModel: string;
  cleanup(): Promise<void>;
}

const stores: [string, (dir: string) => Promise<Store>][] = [
  ['SQLite', async (dir) => ({ readModel: `sqlite:${join(dir, 'shared.sqlite')}`, cleanup: async () => undefined })],
  [
    'PostgreSQL',
    async () => {
      const schema = `t_keys_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
      const admin = new Client({ connectionString: PG_URL });
      await admin.connect();
      await admin.query(`create schema ${schema}`);
      await admin.end();
      const sep = PG_URL.includes('?') ? '&' : '?';
      return {
        readModel: `${PG_URL}${sep}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
        cleanup: async () => {
          const c = new Client({ connectionString: PG_URL });
          await c.connect();
          await c.query(`drop schema if exists ${schema} cascade`);
          await c.end();
        },
      };
    },
  ],
];

describe.each(stores)('API keys shared by two API processes (%s)', (_name, openStore) => {
  let dir: string;
  let store: Store;
  let a: CairnProcess;
  let b: CairnProcess;
  const adminKey = `test_${randomBytes(16).toString('hex')}`;

  const call = (p: CairnProcess, key: string, method: string, path: string, body?: unknown) =>
    fetch(`${p.url}${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const ingestStatus = async (p: CairnProcess, key: string) => (await call(p, key, 'POST', '/v1/events', view('k-1'))).status;
  const createKey = async (p: CairnProcess, body: unknown) => {
    const res = await call(p, adminKey, 'POST', '/v1/admin/keys', body);
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; key: string; name: string; scopes: string[]; expiresAt: string | null };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cairn-keys-'));
    store = await openStore(dir);
    a = await compose(join(dir, 'a'), store.readModel, { api: true, projector: true, adminKey });
    b = await compose(join(dir, 'b'), store.readModel, { api: true, projector: false, eventStore: a.connectionString, adminKey });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await store?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a key created through one process works on the other at once, and is listed there without its secret', async () => {
    const created = await createKey(a, { name: 'storefront', scopes: ['ingest'] });
    expect(created.key).toMatch(/^cairn_[A-Za-z0-9_-]{32}$/);
    expect(await ingestStatus(b, created.key)).toBe(202);
    const list = (await (await call(b, adminKey, 'GET', '/v1/admin/keys')).json()) as { keys: Record<string, unknown>[] };
    const listed = list.keys.find((k) => k.id === created.id);
    expect(listed).toMatchObject({ name: 'storefront', scopes: ['ingest'], state: 'active', revokedAt: null, expiresAt: null, source: 'store' });
    expect(JSON.stringify(list)).not.toContain(created.key);
    expect(JSON.stringify(list)).not.toContain(hashKey(created.key));
    expect(list.keys.find((k) => k.source === 'config')).toMatchObject({ name: 'CAIRN_ADMIN_KEY', scopes: ['admin'] });
  });

  it(`a key revoked on one process is refused there at once and on the other within ${KEY_CACHE_MS} ms`, async () => {
    const created = await createKey(a, { name: 'to-revoke', scopes: ['ingest'] });
    expect(await ingestStatus(a, created.key)).toBe(202); // now cached by A
    expect(await ingestStatus(b, created.key)).toBe(202);
    const revoked = await call(b, adminKey, 'DELETE', `/v1/admin/keys/${created.id}`);
    const revokedAt = Date.now();
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toMatchObject({ id: created.id, state: 'revoked', revokedAt: expect.any(String) });
    expect(await ingestStatus(b, created.key)).toBe(401);
    await until('process A to refuse the revoked key', async () => (await ingestStatus(a, created.key)) === 401, 5000);
    // The bound: A's cache entry was at most KEY_CACHE_MS old when B revoked (plus request time).
    expect(Date.now() - revokedAt).toBeLessThan(KEY_CACHE_MS + 500);
    // Idempotent, and an unknown id is 404.
    expect((await call(a, adminKey, 'DELETE', `/v1/admin/keys/${created.id}`)).status).toBe(200);
    expect((await call(a, adminKey, 'DELETE', '/v1/admin/keys/nope')).status).toBe(404);
    expect((await call(a, adminKey, 'POST', `/v1/admin/keys/${created.id}/rotate`, {})).status).toBe(409);
  });

  it('rotates: same name and scopes, new secret valid everywhere at once; old one revoked at once or kept for the grace period', async () => {
    const first = await createKey(a, { name: 'backend', scopes: ['read', 'loyalty:write'] });
    expect(await ingestStatus(b, first.key)).toBe(403); // read + loyalty:write cannot ingest
    const graced = await call(a, adminKey, 'POST', `/v1/admin/keys/${first.id}/rotate`, { graceSeconds: 3600 });
    expect(graced.status).toBe(201);
    const second = (await graced.json()) as { id: string; key: string; name: string; scopes: string[]; rotatedFrom: string; previous: { expiresAt: string; revokedAt: null } };
    expect(second).toMatchObject({ name: 'backend', scopes: ['read', 'loyalty:write'], rotatedFrom: first.id, previous: { revokedAt: null } });
    expect(Date.parse(second.previous.expiresAt) - Date.now()).toBeGreaterThan(3500_000);
    expect((await call(b, second.key, 'GET', '/v1/projections')).status).toBe(200);
    expect((await call(b, first.key, 'GET', '/v1/projections')).status).toBe(200); // grace period

    const now = await call(b, adminKey, 'POST', `/v1/admin/keys/${second.id}/rotate`, {});
    expect(now.status).toBe(201);
    const third = (await now.json()) as { key: string; previous: { revokedAt: string } };
    expect(third.previous.revokedAt).toEqual(expect.any(String));
    expect((await call(b, second.key, 'GET', '/v1/projections')).status).toBe(401);
    expect((await call(a, third.key, 'GET', '/v1/projections')).status).toBe(200);
    await until('process A to refuse the rotated-away key', async () => (await call(a, second.key, 'GET', '/v1/projections')).status === 401, 5000);

    const bad = await call(a, adminKey, 'POST', `/v1/admin/keys/${first.id}/rotate`, { graceSeconds: -1 });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.fields[0].field).toBe('graceSeconds');
  });

  it('expires keys at their expiry, and refuses an expiry in the past', async () => {
    const soon = await createKey(b, { name: 'short', scopes: ['ingest'], expiresAt: new Date(Date.now() + 1500).toISOString() });
    expect(await ingestStatus(a, soon.key)).toBe(202);
    await until('the key to expire', async () => (await ingestStatus(a, soon.key)) === 401, 10_000);
    const listed = ((await (await call(a, adminKey, 'GET', '/v1/admin/keys')).json()) as { keys: { id: string; state: string }[] }).keys.find((k) => k.id === soon.id);
    expect(listed?.state).toBe('expired');
    const past = await call(a, adminKey, 'POST', '/v1/admin/keys', { name: 'x', scopes: ['read'], expiresAt: '2020-01-01T00:00:00Z' });
    expect(past.status).toBe(400);
    expect((await past.json()).error.fields).toEqual([{ field: 'expiresAt', message: expect.stringContaining('future') }]);
    const badScope = await call(a, adminKey, 'POST', '/v1/admin/keys', { name: 'x', scopes: ['root'] });
    expect(badScope.status).toBe(400);
  });

  it('records when a key was last used, at most once a minute', async () => {
    const k = await createKey(a, { name: 'used', scopes: ['read'] });
    const lastUsed = async () => ((await (await call(a, adminKey, 'GET', '/v1/admin/keys')).json()) as { keys: { id: string; lastUsedAt: string | null }[] }).keys.find((x) => x.id === k.id)!.lastUsedAt;
    expect(await lastUsed()).toBeNull();
    expect((await call(b, k.key, 'GET', '/v1/projections')).status).toBe(200);
    await until('last_used_at to be written', async () => (await lastUsed()) !== null);
    const first = await lastUsed();
    expect((await call(a, k.key, 'GET', '/v1/projections')).status).toBe(200);
    expect((await call(b, k.key, 'GET', '/v1/projections')).status).toBe(200);
    expect(await lastUsed()).toBe(first);
  });
});

describe('the first admin key and the import of api-keys.json', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const fresh = () => {
    const d = mkdtempSync(join(tmpdir(), 'cairn-keys-first-'));
    dirs.push(d);
    return d;
  };

  it('creates one admin key on an empty store, once, and it works on every process', async () => {
    const dir = fresh();
    const readModel = `sqlite:${join(dir, 'rm.sqlite')}`;
    const a = await compose(join(dir, 'a'), readModel, { api: true, projector: true });
    try {
      expect(a.createdAdminKey).toMatch(/^cairn_/);
      const b = await compose(join(dir, 'b'), readModel, { api: true, projector: false, eventStore: a.connectionString });
      try {
        expect(b.createdAdminKey).toBeNull();
        const res = await fetch(`${b.url}/v1/admin/keys`, { headers: { authorization: `Bearer ${a.createdAdminKey}` } });
        expect(res.status).toBe(200);
        expect(((await res.json()) as { keys: { name: string; scopes: string[] }[] }).keys).toEqual([expect.objectContaining({ name: 'admin', scopes: ['admin'] })]);
      } finally {
        await b.close();
      }
    } finally {
      await a.close();
    }
  });

  it('imports the keys of a former api-keys.json once, and creates no admin key then', async () => {
    const dir = fresh();
    const secret = newKeySecret();
    writeFileSync(join(dir, 'api-keys.json'), JSON.stringify({ keys: [{ id: 'old1', name: 'legacy', hash: hashKey(secret), scopes: ['read'], createdAt: '2025-01-01T00:00:00.000Z' }] }), { mode: 0o600 });
    const a = await compose(dir, `sqlite:${join(dir, 'rm.sqlite')}`, { api: true, projector: true });
    try {
      expect(a.createdAdminKey).toBeNull();
      expect(existsSync(join(dir, 'api-keys.json'))).toBe(false);
      expect(existsSync(join(dir, 'api-keys.json.imported'))).toBe(true);
      expect((await fetch(`${a.url}/v1/projections`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200);
    } finally {
      await a.close();
    }
  });
});
