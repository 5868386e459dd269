/**
 * What the HTTP edge refuses before any handler runs, and what it never says: CORS per route,
 * body depth and size limits (a 3,000-deep body used to overflow class-transformer's stack: 500),
 * and driver error text kept out of projection `lastError`.
 */
import { randomUUID } from 'crypto';
import { sql } from 'kysely';
import { startCairn, type TestCairn } from '../../../test/support/cairn';

const ADMIN_ORIGIN = 'https://admin.example';

describe('HTTP edge: CORS, body limits, error texts', () => {
  let cairn: TestCairn;
  let readKey: string;
  const auth = (key = cairn.adminKey) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });
  const post = (path: string, body: string, key?: string) => fetch(`${cairn.url}${path}`, { method: 'POST', headers: auth(key), body });
  const preflight = (path: string, origin: string, method: string) =>
    fetch(`${cairn.url}${path}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization,content-type' } });
  const view = (customerId: string) => ({ id: randomUUID(), type: 'view', customerId, occurredAt: '2026-02-01T10:00:00Z', channel: 'web', productId: 'p1' });

  beforeAll(async () => {
    cairn = await startCairn({ env: { CAIRN_CORS_ORIGINS: ADMIN_ORIGIN } });
    const res = await post('/v1/admin/keys', JSON.stringify({ name: 'reader', scopes: ['read'] }));
    readKey = ((await res.json()) as { key: string }).key;
  });
  afterAll(async () => {
    await cairn?.close();
  });

  describe('CORS', () => {
    it('lets any origin send events (SDKs), preflight included', async () => {
      const pre = await preflight('/v1/events', 'https://any-shop.example', 'POST');
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe('*');
      expect(pre.headers.get('access-control-allow-methods')).toBe('POST');
      expect(pre.headers.get('access-control-allow-headers')).toContain('authorization');
      const res = await fetch(`${cairn.url}/v1/events`, { method: 'POST', headers: { ...auth(), origin: 'https://any-shop.example' }, body: JSON.stringify(view('cors-1')) });
      expect(res.status).toBe(202);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
    });

    it('gives read and admin routes no CORS headers for an origin not configured, and the configured origin only', async () => {
      for (const path of ['/v1/customers', '/v1/admin/keys', '/v1/loyalty/c1/redemptions']) {
        const pre = await preflight(path, 'https://evil.example', 'GET');
        expect(pre.headers.get('access-control-allow-origin')).toBeNull();
        const res = await fetch(`${cairn.url}${path}`, { headers: { ...auth(), origin: 'https://evil.example' } });
        expect(res.headers.get('access-control-allow-origin')).toBeNull();
      }
      const ok = await fetch(`${cairn.url}/v1/admin/keys`, { headers: { ...auth(), origin: ADMIN_ORIGIN } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('access-control-allow-origin')).toBe(ADMIN_ORIGIN);
      const pre = await preflight('/v1/admin/keys', ADMIN_ORIGIN, 'DELETE');
      expect(pre.headers.get('access-control-allow-origin')).toBe(ADMIN_ORIGIN);
      expect(pre.headers.get('access-control-allow-methods')).toContain('DELETE');
    });
  });

  describe('body limits, before parsing', () => {
    const deep = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;

    it.each(['/v1/admin/replays', '/v1/events', '/v1/admin/rebuilds', '/v1/segments', '/v1/loyalty/c1/redemptions'])('answers 400 CAIRN.VALIDATION to a 3,000-deep body on %s', async (path) => {
      for (const body of [`{"rules":${deep(3000)}}`, `{"events":[${'['.repeat(3000)}${']'.repeat(3000)}]}`]) {
        const res = await post(path, body);
        expect(res.status).toBe(400);
        const { error } = await res.json();
        expect(error).toMatchObject({ code: 'CAIRN.VALIDATION', message: expect.stringContaining('deeper than 32 levels'), fields: [{ field: 'body', message: expect.any(String) }] });
      }
      // The server is fine afterwards.
      expect((await fetch(`${cairn.url}/health/live`)).status).toBe(200);
    });

    it('lets 32 levels through to validation, and answers 413 past the size limit', async () => {
      const at = await post('/v1/admin/replays', `{"rules":${deep(31)}}`);
      expect(at.status).not.toBe(500);
      expect((await at.json()).error?.message ?? '').not.toContain('deeper than');
      const big = await post('/v1/events', JSON.stringify({ events: [{ ...view('big'), pad: 'x'.repeat(1024 * 1024) }] }));
      expect(big.status).toBe(413);
      expect((await big.json()).error.code).toBe('CAIRN.PAYLOAD_TOO_LARGE');
    });
  });

  it('never shows raw driver text in a projection lastError; the log has it', async () => {
    // Break the profiles table under the projector: every event then fails in SQLite.
    await sql`drop table profiles`.execute(cairn.process.runtime.readStore.db);
    const res = await post('/v1/events', JSON.stringify(view(`le-${randomUUID()}`)));
    expect(res.status).toBe(202);
    const { results } = (await res.json()) as { results: { id: string }[] };
    type P = { name: string; lastError: string | null };
    const profiles = async (path: string, key: string) => ((await (await fetch(`${cairn.url}${path}`, { headers: auth(key) })).json()) as { projections: P[] }).projections.find((p) => p.name === 'profiles')!;
    const deadline = Date.now() + 15_000;
    while ((await profiles('/v1/projections', readKey)).lastError === null) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the profiles projection to report an error');
      await new Promise((r) => setTimeout(r, 25));
    }
    for (const [path, key] of [['/v1/projections', readKey], ['/v1/admin/projections', cairn.adminKey]] as const) {
      const p = await profiles(path, key);
      expect(p.lastError).toMatch(/^CAIRN\.(VALIDATION|UNAVAILABLE): /);
      expect(p.lastError).not.toMatch(/no such table|SQLITE|sqlite/i);
      if (p.lastError!.startsWith('CAIRN.VALIDATION')) expect(p.lastError).toContain(results[0].id);
    }
  });
});
