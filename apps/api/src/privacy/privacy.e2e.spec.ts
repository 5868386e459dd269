/**
 * Privacy by construction (docs/privacy.md), over HTTP on an in-process Cairn, on SQLite and on
 * PostgreSQL: no plaintext personal value in any file of the data directory (nor in a pg_dump),
 * export decrypted, erasure by crypto-shredding (the wrapped keys leave the files too), exports,
 * replay output and logs free of the erased values, non-personal tables identical after a full
 * rebuild, merged persons erased as one, unmerge keeps the erasure, and bad input.
 */
import { execFileSync } from 'child_process';
import { randomUUID } from 'crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Writable } from 'stream';
import pino from 'pino';
import { loadConfig } from '@cairn/config';
import { composeCairn, type CairnProcess } from '../../../cli/src/compose';
import { pgAdmin, pgUrlFor } from '../../../../test/support/faults';
import { startReceiver, waitFor } from '../webhooks/webhook-receiver.test-support';

/** Every file under `dir` whose bytes contain `needle`. */
function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const bytes = Buffer.from(needle);
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && readFileSync(p).includes(bytes)) hits.push(p);
    }
  };
  walk(dir);
  return hits;
}

interface Running {
  readonly url: string;
  readonly admin: string;
  readonly dataDir: string;
  readonly proc: CairnProcess;
  readonly logs: string[];
  readonly pgDatabase: string | null;
}

async function start(kind: 'SQLite' | 'PostgreSQL', env: Record<string, string> = {}, reuse?: { dataDir: string; pgDatabase: string | null }): Promise<Running> {
  const dataDir = reuse?.dataDir ?? mkdtempSync(join(tmpdir(), 'cairn-privacy-'));
  let pgDatabase = reuse?.pgDatabase ?? null;
  if (kind === 'PostgreSQL' && !pgDatabase) {
    pgDatabase = `privacy_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    await pgAdmin((c) => c.query(`create database ${pgDatabase}`));
  }
  const admin = `test_${randomUUID().replace(/-/g, '')}`;
  const config = loadConfig(
    { CAIRN_READ_WAIT_MS: '60000', CAIRN_HEAD_WAIT_MS: '30000', ...env },
    { port: 0, esdbPort: 0, dataDir, adminKey: admin, ...(pgDatabase ? { readModel: pgUrlFor(pgDatabase) } : {}) },
  );
  config.host = '127.0.0.1';
  const logs: string[] = [];
  // Every log line at the most verbose level, kept to be searched.
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const proc = await composeCairn(config, { api: true, projector: true, projectorThread: false, logger: pino({ level: 'trace' }, sink) });
  return { url: proc.url!, admin, dataDir, proc, logs, pgDatabase };
}

async function stop(r: Running | undefined, keep = false): Promise<void> {
  if (!r) return;
  await r.proc.close();
  if (keep) return;
  rmSync(r.dataDir, { recursive: true, force: true });
  if (r.pgDatabase) await pgAdmin((c) => c.query(`drop database if exists ${r.pgDatabase} with (force)`));
}

const call = async (r: Running, method: string, path: string, body?: unknown, key = r.admin) => {
  const res = await fetch(`${r.url}${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, text, body: text ? JSON.parse(text) : undefined };
};

/** Waits (up to 60 s) until every projection has folded `position`. */
async function folded(r: Running, position: string): Promise<void> {
  if (!(await r.proc.runtime.projections.waitFor(BigInt(position), 60_000))) throw new Error(`the projections did not reach ${position} within 60 s`);
}

/** Waits for a rebuild of every projection to finish (deadline 120 s, polled). */
async function rebuildAll(r: Running): Promise<void> {
  const started = await call(r, 'POST', '/v1/admin/rebuilds', { projections: ['all'] });
  expect(started.status).toBe(202);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { body } = await call(r, 'GET', `/v1/admin/rebuilds/${started.body.id}`);
    if (body.phase !== 'building' && body.phase !== 'switching') {
      expect(body).toMatchObject({ phase: 'switched', error: null });
      return;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for the rebuild to switch: ${JSON.stringify(body)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** The rows of the tables projections fold (none holds a personal value), in a stable order. */
async function nonPersonalTables(r: Running): Promise<Record<string, unknown[]>> {
  const db = r.proc.runtime.readStore.db;
  const out: Record<string, unknown[]> = {};
  for (const t of ['profiles', 'customer_lookup', 'identity_sources', 'identity_links', 'analytics_facts', 'loyalty_facts'] as const) {
    const rows = (await db.selectFrom(t).selectAll().execute()) as Record<string, unknown>[];
    out[t] = rows.map((row) => JSON.stringify(row, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))).sort();
  }
  return out;
}

const at = (day: number) => new Date(Date.UTC(2026, 5, day, 10)).toISOString();

/** A person's personal events, each carrying `marker` in a personal field. */
function personalEvents(customerId: string, anonymousId: string, marker: string) {
  return [
    { id: randomUUID(), type: 'identify', customerId, anonymousId, occurredAt: at(1), channel: 'web', traits: { email: `${marker}@example.test`, name: `Ada ${marker}`, vip: true, visits: 3 } },
    { id: randomUUID(), type: 'view', anonymousId, occurredAt: at(2), channel: 'web', productId: 'p1', context: { userAgent: `Browser/${marker}`, locale: 'de-DE' } },
    { id: randomUUID(), type: 'purchase', customerId, occurredAt: at(3), channel: 'web', orderId: `o-${randomUUID()}`, currency: 'USD', items: [{ productId: 'p1', quantity: 2, unitPriceMinor: 1500 }], totalMinor: 3000 },
    { id: randomUUID(), type: 'review', customerId, occurredAt: at(4), channel: 'web', productId: 'p1', rating: 4, title: `Title ${marker}`, body: `I liked it, ${marker}` },
    { id: randomUUID(), type: 'return', customerId, occurredAt: at(5), channel: 'web', orderId: 'o-x', items: [{ productId: 'p1', quantity: 1 }], refundMinor: 1500, currency: 'USD', reason: `too small for ${marker}` },
  ];
}

async function ingest(r: Running, events: unknown[]): Promise<string> {
  const res = await call(r, 'POST', '/v1/events', { events });
  expect([res.status, res.body.results.map((x: { status: string }) => x.status)]).toEqual([202, events.map(() => 'accepted')]);
  await folded(r, res.body.position.commit);
  return res.body.position.commit;
}

const pgDump = (db: string) => execFileSync('pg_dump', ['--data-only', pgUrlFor(db)], { maxBuffer: 256 * 1024 * 1024 }).toString('utf8');

describe.each(['SQLite', 'PostgreSQL'] as const)('privacy on %s', (kind) => {
  let r: Running | undefined;
  afterEach(async () => {
    await stop(r);
    r = undefined;
  });

  it('stores no plaintext personal value, exports it decrypted, and after an erasure shows it nowhere while every figure stays', async () => {
    r = await start(kind);
    const marker = `mk${randomUUID().replace(/-/g, '')}`;
    const customer = `c-${randomUUID()}`;
    const visitor = `v-${randomUUID()}`;
    await ingest(r, personalEvents(customer, visitor, marker));
    // A program, so the loyalty facts have something to show.
    expect((await call(r, 'PUT', '/v1/loyalty/program', {
      program: { currency: 'USD', earn: { pointsPerUnit: 1, unitMinor: 100, rounding: 'floor' }, pendingDays: 0, expiry: { mode: 'none' }, returns: { negativeBalance: 'allow' }, tiers: { basis: 'points', window: { kind: 'rolling', days: 365 }, downgrade: 'end-of-period', levels: [{ name: 'Bronze', threshold: 0, multiplier: 1 }] } },
      effectiveFrom: '2000-01-01T00:00:00Z',
    })).status).toBe(200);

    // At rest: the marker is in no file of the data directory (log, read store, indexes), nor in the PostgreSQL data.
    expect(filesContaining(r.dataDir, marker)).toEqual([]);
    if (r.pgDatabase) expect(pgDump(r.pgDatabase).includes(marker)).toBe(false);

    // The timeline and the export open it again.
    const timeline = await call(r, 'GET', `/v1/customers/${customer}/events?limit=50`);
    expect(timeline.status).toBe(200);
    const identify = timeline.body.items.find((e: { type: string }) => e.type === 'cairn.identify.v1');
    expect(identify.data.traits).toEqual({ email: `${marker}@example.test`, name: `Ada ${marker}`, vip: true, visits: 3 });
    const exported = await call(r, 'GET', `/v1/privacy/customers/${customer}/export`);
    expect(exported.status).toBe(200);
    expect(exported.body).toMatchObject({ format: 'cairn.privacy.export.v1', customerId: customer, customerIds: [customer], anonymousIds: [visitor], erasures: [], profile: { customerId: customer, orders: 1 } });
    expect(exported.body.events).toHaveLength(5);
    const byType = (events: { type: string; data: Record<string, unknown> }[], t: string) => events.find((e) => e.type === t)!;
    expect(byType(exported.body.events, 'cairn.review.v1').data).toMatchObject({ title: `Title ${marker}`, body: `I liked it, ${marker}`, rating: 4 });
    expect(byType(exported.body.events, 'cairn.return.v1').data).toMatchObject({ reason: `too small for ${marker}`, refundMinor: 1500 });
    expect(byType(exported.body.events, 'cairn.view.v1').data).toMatchObject({ context: { userAgent: `Browser/${marker}`, locale: 'de-DE' } });

    // A full rebuild before the erasure, then one after: every non-personal table the same, row by row.
    await rebuildAll(r);
    const before = await nonPersonalTables(r);
    const wrapped = (await r.proc.runtime.readStore.db.selectFrom('privacy_keys').select(['subject', 'wrapped']).execute()).filter((k) => k.wrapped !== null);
    expect(wrapped.map((k) => k.subject).sort()).toEqual([`customer-${customer}`, `visitor-${visitor}`].sort());

    const erased = await call(r, 'POST', '/v1/privacy/erasures', { customerId: customer, reason: 'data-subject-request', reference: 'TICKET-42' });
    expect(erased.status).toBe(201);
    expect(erased.body).toMatchObject({ requested: { customerId: customer }, reason: 'data-subject-request', reference: 'TICKET-42', actor: 'CAIRN_ADMIN_KEY', customerIds: [customer], anonymousIds: [visitor], position: expect.stringMatching(/^\d+$/) });
    expect(erased.body.keysDestroyed).toHaveLength(2);
    expect(JSON.stringify(erased.body)).not.toContain(marker);
    expect((await call(r, 'GET', `/v1/privacy/erasures/${erased.body.erasureId}`)).body).toEqual(erased.body);
    // Erasing again is idempotent: the same record, 200.
    const again = await call(r, 'POST', '/v1/privacy/erasures', { customerId: customer, reason: 'data-subject-request' });
    expect([again.status, again.body]).toEqual([200, erased.body]);

    const after = await call(r, 'GET', `/v1/privacy/customers/${customer}/export`);
    expect(after.status).toBe(200);
    expect(after.text.includes(marker)).toBe(false);
    expect(after.body.events).toHaveLength(5);
    expect(after.body.erasures).toEqual([erased.body]);
    const identifyAfter = byType(after.body.events, 'cairn.identify.v1') as unknown as { data: { traits: unknown }; erasedFields?: string[] };
    expect(identifyAfter.data.traits).toEqual({ email: null, name: null, vip: null, visits: null });
    expect(identifyAfter.erasedFields).toEqual(['traits.email', 'traits.name', 'traits.vip', 'traits.visits']);
    expect(byType(after.body.events, 'cairn.purchase.v1').data).toMatchObject({ totalMinor: 3000 });
    expect((await call(r, 'GET', `/v1/customers/${customer}/events?limit=50`)).text.includes(marker)).toBe(false);

    await rebuildAll(r);
    expect(await nonPersonalTables(r)).toEqual(before);

    // New personal values for an erased person are not kept.
    await ingest(r, [{ id: randomUUID(), type: 'identify', customerId: customer, anonymousId: visitor, occurredAt: at(6), channel: 'web', traits: { email: `${marker}-again@example.test` } }]);
    const latest = (await call(r, 'GET', `/v1/customers/${customer}/events?limit=1`)).body.items[0];
    expect([latest.type, latest.data.traits ?? {}]).toEqual(['cairn.identify.v1', {}]);

    // A replay's output holds no personal value either.
    const replay = await call(r, 'POST', '/v1/admin/replays', { projections: ['profiles'], asOf: at(30) });
    expect(replay.status).toBe(202);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const { body } = await call(r, 'GET', `/v1/admin/replays/${replay.body.id}`);
      if (body.state !== 'running') break;
      if (Date.now() > deadline) throw new Error('timed out waiting for the replay to finish');
      await new Promise((res) => setTimeout(res, 100));
    }
    const files = await call(r, 'GET', `/v1/admin/replays/${replay.body.id}/files`);
    expect(files.status).toBe(200);
    expect(files.text.includes(marker)).toBe(false);

    // Nowhere on disk, in the PostgreSQL data or the logs; nor are the destroyed wrapped keys.
    expect(filesContaining(r.dataDir, marker)).toEqual([]);
    for (const k of wrapped) expect([k.subject, filesContaining(r.dataDir, k.wrapped!)]).toEqual([k.subject, []]);
    if (r.pgDatabase) {
      const dump = pgDump(r.pgDatabase);
      expect(dump.includes(marker)).toBe(false);
      for (const k of wrapped) expect([k.subject, dump.includes(k.wrapped!)]).toEqual([k.subject, false]);
    }
    expect(r.logs.length).toBeGreaterThan(0);
    expect(r.logs.filter((l) => l.includes(marker))).toEqual([]);
  }, 300_000);

  it('erases a merged person as one: every linked id, and an unmerge keeps them erased; privacy.erased webhooks tell the tools the shop copied data to', async () => {
    const receiver = await startReceiver();
    r = await start(kind, { CAIRN_WEBHOOK_URLS: 'dev', CAIRN_WEBHOOK_POLL_MS: '50' });
    // An endpoint that requires a consent nobody gave still gets erasures: they are a right, not marketing.
    const hook = await call(r, 'POST', '/v1/webhooks', { url: `${receiver.url}/erasures`, kinds: ['privacy.erased'], requiresConsent: 'email_marketing' });
    expect(hook.status).toBe(201);
    receiver.secrets.set('/erasures', hook.body.secret);
    const marker = `mk${randomUUID().replace(/-/g, '')}`;
    const [a, b] = [`a-${randomUUID()}`, `b-${randomUUID()}`];
    const [va, vb] = [`va-${randomUUID()}`, `vb-${randomUUID()}`];
    await ingest(r, [...personalEvents(a, va, `${marker}a`), ...personalEvents(b, vb, `${marker}b`)]);
    const merge = await call(r, 'POST', '/v1/identity/merges', { survivorId: a, mergedId: b, reason: 'same person' });
    expect(merge.status).toBe(201);

    const erased = await call(r, 'POST', '/v1/privacy/erasures', { customerId: b, reason: 'account-closed' });
    expect(erased.status).toBe(201);
    expect({ c: [...erased.body.customerIds].sort(), v: [...erased.body.anonymousIds].sort() }).toEqual({ c: [a, b].sort(), v: [va, vb].sort() });
    expect(erased.body.keysDestroyed).toHaveLength(4);
    const [delivered] = await waitFor('the privacy.erased delivery', () => receiver.requests.filter((q) => q.path === '/erasures'), (q) => q.length > 0);
    expect(delivered!.verified).toBe(true);
    expect(delivered!.body).toMatchObject({ type: 'privacy.erased', data: { erasureId: erased.body.erasureId, customerIds: erased.body.customerIds, anonymousIds: erased.body.anonymousIds, reason: 'account-closed' } });
    expect(JSON.stringify(delivered!.body)).not.toContain(marker);

    const unmerge = await call(r, 'DELETE', `/v1/identity/merges/${merge.body.mergeId}`);
    expect(unmerge.status).toBe(200);
    for (const id of [a, b]) {
      const exported = await call(r, 'GET', `/v1/privacy/customers/${id}/export`);
      expect([id, exported.status, exported.text.includes(marker)]).toEqual([id, 200, false]);
      expect(exported.body.events.length).toBe(5);
      expect(exported.body.erasures.map((e: { erasureId: string }) => e.erasureId)).toEqual([erased.body.erasureId]);
    }
    // Each id, asked for on its own after the unmerge, is already erased: the same record.
    const again = await call(r, 'POST', '/v1/privacy/erasures', { customerId: a, reason: 'account-closed' });
    expect([again.status, again.body.erasureId]).toEqual([200, erased.body.erasureId]);
    expect(filesContaining(r.dataDir, marker)).toEqual([]);
    await receiver.close();
  }, 180_000);
});

describe('privacy: bad input and keys', () => {
  let r: Running | undefined;
  afterAll(async () => {
    await stop(r);
  });

  it('answers 404 for an unknown id, 403 without the admin scope, 400 naming the field', async () => {
    r = await start('SQLite');
    const customer = `c-${randomUUID()}`;
    await ingest(r, personalEvents(customer, `v-${randomUUID()}`, 'x'));
    expect((await call(r, 'POST', '/v1/privacy/erasures', { customerId: `nobody-${randomUUID()}`, reason: 'other' })).status).toBe(404);
    expect((await call(r, 'POST', '/v1/privacy/erasures', { anonymousId: `nobody-${randomUUID()}`, reason: 'other' })).status).toBe(404);
    expect((await call(r, 'GET', `/v1/privacy/customers/nobody-${randomUUID()}/export`)).status).toBe(404);
    expect((await call(r, 'GET', `/v1/privacy/erasures/${randomUUID()}`)).status).toBe(404);
    const bad = await call(r, 'POST', '/v1/privacy/erasures', { customerId: customer, reason: 'because she wrote to ada@example.com', reference: 'see mail from ada@example.com', extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.map((f: { field: string }) => f.field).sort()).toEqual(['extra', 'reason', 'reference']);
    expect((await call(r, 'POST', '/v1/privacy/erasures', { reason: 'other' })).body.error.fields[0].field).toBe('customerId');

    const reader = await call(r, 'POST', '/v1/admin/keys', { name: 'analyst', scopes: ['read'] });
    expect(reader.status).toBe(201);
    expect((await call(r, 'GET', `/v1/privacy/customers/${customer}/export`, undefined, reader.body.key)).status).toBe(403);
    expect((await call(r, 'POST', '/v1/privacy/erasures', { customerId: customer, reason: 'other' }, reader.body.key)).status).toBe(403);
    expect((await call(r, 'GET', `/v1/privacy/erasures/${randomUUID()}`, undefined, reader.body.key)).status).toBe(403);
  }, 120_000);

  it('refuses ids that look like email addresses unless CAIRN_ALLOW_EMAIL_IDS=true', async () => {
    r ??= await start('SQLite');
    const res = await call(r!, 'POST', '/v1/events', { type: 'view', customerId: 'ada@example.com', occurredAt: at(1), channel: 'web', productId: 'p1' });
    // Rejected as any invalid event is (the batch answer names each event's fields), never stored.
    expect([res.status, res.body.results[0].status, res.body.position]).toEqual([202, 'rejected', null]);
    expect(res.body.results[0].errors).toEqual([{ field: 'customerId', message: expect.stringContaining('looks like an email address') }]);
    await stop(r);
    r = await start('SQLite', { CAIRN_ALLOW_EMAIL_IDS: 'true' });
    expect((await call(r, 'POST', '/v1/events', { type: 'view', customerId: 'ada@example.com', occurredAt: at(1), channel: 'web', productId: 'p1' })).body.results[0].status).toBe('accepted');
  }, 120_000);

  it('stops start-up on a malformed, unreadable or foreign key-encryption key, naming the setting', async () => {
    expect(() => loadConfig({ CAIRN_KEK: 'not-a-key' })).toThrow(/CAIRN_KEK: must be 32 bytes in base64/);
    expect(() => loadConfig({ CAIRN_KEK: 'not-a-key' })).not.toThrow(/not-a-key/);
    const dir = mkdtempSync(join(tmpdir(), 'cairn-kek-'));
    try {
      await expect(start('SQLite', { CAIRN_KEK_FILE: join(dir, 'missing') })).rejects.toThrow(/CAIRN_KEK_FILE: cannot read/);
      // A store whose keys another KEK wrapped: refused, naming the settings.
      const first = await start('SQLite', {}, { dataDir: dir, pgDatabase: null });
      await ingest(first, personalEvents(`c-${randomUUID()}`, `v-${randomUUID()}`, 'k'));
      await stop(first, true);
      rmSync(join(dir, 'kek'));
      await expect(start('SQLite', { CAIRN_KEK: Buffer.alloc(32, 7).toString('base64') }, { dataDir: dir, pgDatabase: null })).rejects.toThrow(/not the one that wrapped the data keys.*CAIRN_KEK or CAIRN_KEK_FILE/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
