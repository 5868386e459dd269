/**
 * The audit log over HTTP on an in-process Cairn: every kind of admin action, done with an admin
 * key of its own name, is found in GET /v1/admin/audit with that key's name and the right targets
 * and outcome; pages, filters, scopes and bad parameters; no request body in the record; audit
 * events are not lag; and what happens when the audit log cannot be appended.
 */
import { randomUUID } from 'crypto';
import { isFoldedEventType } from '@cairn/event-store';
import { toLogEvent } from '@cairn/projections';
import { startCairn, type TestCairn } from '../../../../test/support/cairn';
import { e2eReadModels } from '../../../../test/support/read-stores';
import { AUDIT_COMPLETED, AUDIT_REQUESTED, AUDIT_STREAM } from './audit';

const PROGRAM = {
  currency: 'USD',
  earn: { pointsPerUnit: 1, unitMinor: 100, rounding: 'floor', review: { points: 50, requirePurchase: true }, referral: { referrerPoints: 500, friendPoints: 200, maxPerWeek: 3 } },
  pendingDays: 0,
  expiry: { mode: 'fixed', days: 365 },
  returns: { negativeBalance: 'allow' },
  tiers: { basis: 'points', window: { kind: 'rolling', days: 365 }, downgrade: 'end-of-period', levels: [{ name: 'Bronze', threshold: 0, multiplier: 1 }] },
};

/** SQLite (the default read store), and PostgreSQL in a schema of its own. */
const STORES = e2eReadModels('t_audit');

interface Entry {
  id: string;
  action: string;
  actor: { keyId: string; keyName: string };
  at: string;
  method: string;
  route: string;
  targets: Record<string, string | string[]>;
  outcome: string;
  statusCode: number | null;
  errorCode: string | null;
}

describe.each(STORES)('audit log over HTTP (%s read store)', (_name, openStore) => {
  let cairn: TestCairn;
  let store: { readModel?: string; cleanup: () => Promise<void> } | undefined;
  let alice = '';
  let aliceId = '';
  const call = async (method: string, path: string, body?: unknown, key = alice, contentType = 'application/json') => {
    const res = await fetch(`${cairn.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': contentType },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: Record<string, any> | null = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: res.status, body: json as Record<string, any>, text };
  };
  const audit = async (query = '', key = alice) => call('GET', `/v1/admin/audit${query}`, undefined, key);
  /** Every entry, following the cursor. */
  const all = async (query = ''): Promise<Entry[]> => {
    const out: Entry[] = [];
    let cursor: string | null = null;
    do {
      const params = new URLSearchParams(query.replace(/^\?/, ''));
      params.set('limit', '500');
      if (cursor) params.set('after', cursor);
      const page = await audit(`?${params.toString()}`);
      if (page.status !== 200) throw new Error(`GET /v1/admin/audit?${params}: ${page.status} ${page.text}`);
      out.push(...page.body.entries);
      cursor = page.body.nextCursor;
    } while (cursor);
    return out;
  };
  const poll = async <T>(what: string, fn: () => Promise<T | undefined>): Promise<T> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const c1 = `c-${randomUUID()}`;
  const c2 = `c-${randomUUID()}`;
  const done: Record<string, { status: number; targets?: Record<string, unknown> }> = {};

  beforeAll(async () => {
    store = await openStore();
    cairn = await startCairn({ env: { CAIRN_WEBHOOK_URLS: 'dev' }, ...(store.readModel ? { readModel: store.readModel } : {}) });
    const created = await call('POST', '/v1/admin/keys', { name: 'ops-alice', scopes: ['admin'] }, cairn.adminKey);
    expect(created.status).toBe(201);
    alice = created.body.key;
    aliceId = created.body.id;
    const ingest = await call('POST', '/v1/events', {
      events: [
        { type: 'purchase', customerId: c1, occurredAt: '2026-01-10T09:00:00Z', channel: 'web', orderId: 'o1', currency: 'USD', items: [{ productId: 'p1', quantity: 1, unitPriceMinor: 2500 }], totalMinor: 2500 },
        { type: 'view', customerId: c2, occurredAt: '2026-01-11T09:00:00Z', channel: 'web', productId: 'p1' },
      ],
    });
    expect(ingest.status).toBe(202);
    expect((await call('GET', `/v1/customers/${c2}?minPosition=${ingest.body.position.commit}`)).status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await cairn?.close();
    await store?.cleanup();
  });

  it('records every kind of admin action with the key name that did it', async () => {
    const expectOk = (action: string, r: { status: number; body: Record<string, any>; text: string }, status: number, targets?: Record<string, unknown>) => {
      if (r.status !== status) throw new Error(`${action}: ${r.status} ${r.text}`);
      done[action] = { status, targets };
      return r.body;
    };
    // keys
    const reader = expectOk('api-key.created', await call('POST', '/v1/admin/keys', { name: 'reader', scopes: ['read'] }), 201);
    done['api-key.created']!.targets = { keyId: reader.id };
    const rotated = expectOk('api-key.rotated', await call('POST', `/v1/admin/keys/${reader.id}/rotate`, {}), 201, { id: reader.id });
    done['api-key.rotated']!.targets = { id: reader.id, newKeyId: rotated.id };
    expectOk('api-key.revoked', await call('DELETE', `/v1/admin/keys/${rotated.id}`), 200, { id: rotated.id });
    // identity
    const merge = expectOk('identity.merged', await call('POST', '/v1/identity/merges', { survivorId: c1, mergedId: c2, reason: 'same person per support ticket SECRET-REASON' }), 201);
    done['identity.merged']!.targets = { survivorId: c1, mergedId: c2, mergeId: merge.mergeId };
    expectOk('identity.unmerged', await call('DELETE', `/v1/identity/merges/${merge.mergeId}`), 200, { id: merge.mergeId });
    // loyalty
    const program = expectOk('loyalty.program.changed', await call('PUT', '/v1/loyalty/program', { program: PROGRAM, effectiveFrom: '2025-01-01T00:00:00Z' }), 200);
    done['loyalty.program.changed']!.targets = { programVersion: String(program.version) };
    expectOk('loyalty.adjusted', await call('POST', `/v1/loyalty/${c1}/adjustments`, { points: 25, reason: 'late delivery' }), 201, { customerId: c1 });
    // segments
    const seg = expectOk('segment.defined', await call('POST', '/v1/segments', { name: 'Buyers SECRET-NAME', condition: { field: 'orders', op: '>=', value: 1 } }), 201);
    done['segment.defined']!.targets = { segmentId: seg.id };
    expectOk('segment.deleted', await call('DELETE', `/v1/segments/${seg.id}`), 200, { id: seg.id });
    // automations
    const seg2 = await call('POST', '/v1/segments', { name: 'Lapsed', condition: { field: 'orders', op: '>=', value: 1 } });
    expect(seg2.status).toBe(201);
    const rule = expectOk('automation.defined', await call('POST', '/v1/automations', { name: 'Win back', segmentId: seg2.body.id, voucher: { kind: 'percent', percent: 15 }, validDays: 30, oncePerDays: 90 }), 201);
    done['automation.defined']!.targets = { automationId: rule.id };
    expectOk('automation.changed', await call('PUT', `/v1/automations/${rule.id}`, { name: 'Win back 2', segmentId: seg2.body.id, voucher: { kind: 'percent', percent: 10 }, validDays: 30, oncePerDays: 90 }), 200, { id: rule.id });
    expectOk('automation.deleted', await call('DELETE', `/v1/automations/${rule.id}`), 204, { id: rule.id });
    // webhooks
    const hook = expectOk('webhook.registered', await call('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/hook', kinds: ['segment.entered'] }), 201);
    done['webhook.registered']!.targets = { webhookId: hook.id };
    expectOk('webhook.enabled', await call('POST', `/v1/webhooks/${hook.id}/enable`, {}), 200, { id: hook.id });
    expectOk('webhook.resent', await call('POST', `/v1/webhooks/${hook.id}/resend`, { from: '2026-01-01T00:00:00Z', to: '2027-01-01T00:00:00Z' }), 202, { id: hook.id });
    expectOk('webhook.deleted', await call('DELETE', `/v1/webhooks/${hook.id}`), 204, { id: hook.id });
    // operations
    expectOk('parked.retried', await call('POST', '/v1/admin/parked/retry', { projection: 'profiles' }), 200, { projection: 'profiles' });
    const rfm = expectOk('rfm.recomputed', await call('POST', '/v1/rfm/runs', {}), 201);
    done['rfm.recomputed']!.targets = { runId: rfm.runId };
    const replay = expectOk('replay.started', await call('POST', '/v1/admin/replays', { projections: ['profiles'], asOf: '2026-06-30T23:59:59Z' }), 202);
    done['replay.started']!.targets = { replayId: replay.id };
    await poll('the replay to finish', async () => ((await call('GET', `/v1/admin/replays/${replay.id}`)).body.state !== 'running' ? true : undefined));
    const rebuild = expectOk('rebuild.started', await call('POST', '/v1/admin/rebuilds', { projections: ['profiles'] }), 202);
    done['rebuild.started']!.targets = { projections: ['profiles'], rebuildId: rebuild.id };
    await poll('the rebuild to finish', async () => (['switched', 'failed', 'interrupted'].includes((await call('GET', `/v1/admin/rebuilds/${rebuild.id}`)).body.phase) ? true : undefined));
    // import (NDJSON; the handler writes its answer itself)
    const line = JSON.stringify({ id: randomUUID(), type: 'view', customerId: c1, occurredAt: '2026-01-12T09:00:00Z', channel: 'web', productId: 'p2' });
    expectOk('events.imported', await call('POST', '/v1/events/import', `${line}\n`, alice, 'application/x-ndjson'), 200);

    const entries = await poll('the import to be recorded as completed', async () => {
      const list = await all('?actor=ops-alice');
      return list.find((e) => e.action === 'events.imported')?.outcome === 'succeeded' ? list : undefined;
    });
    for (const [action, want] of Object.entries(done)) {
      const found = entries.filter((e) => e.action === action);
      expect([action, found.length]).toEqual([action, expect.any(Number)]);
      const match = found.find((e) => want.targets === undefined || Object.entries(want.targets).every(([k, v]) => JSON.stringify(e.targets[k]) === JSON.stringify(v)));
      if (!match) throw new Error(`${action}: no entry with targets ${JSON.stringify(want.targets)} in ${JSON.stringify(found)}`);
      expect(match).toMatchObject({ action, actor: { keyId: aliceId, keyName: 'ops-alice' }, outcome: 'succeeded', statusCode: want.status, errorCode: null });
      expect(match.route).toMatch(/^\/v1\//);
    }
    // The key alice was made with was recorded too, with the configured admin key as its actor.
    const first = (await all('?action=api-key.created')).find((e) => e.targets.keyId === aliceId);
    expect(first).toMatchObject({ actor: { keyId: 'config-admin', keyName: 'CAIRN_ADMIN_KEY' }, outcome: 'succeeded', statusCode: 201 });
    // Ids only: no body text (a merge reason, a segment name, a secret) is in the audit.
    const raw = JSON.stringify(await all());
    for (const secret of ['SECRET-REASON', 'SECRET-NAME', alice, reader.key, 'late delivery', 'Win back']) expect(raw).not.toContain(secret);
  }, 120_000);

  it('records a refused action as failed, with its status and error code', async () => {
    const bad = await call('POST', '/v1/segments', { name: '', condition: { field: 'nope' } });
    expect(bad.status).toBe(400);
    const [latest] = (await audit('?action=segment.defined&limit=1')).body.entries as Entry[];
    expect(latest).toMatchObject({ actor: { keyName: 'ops-alice' }, outcome: 'failed', statusCode: 400, errorCode: 'CAIRN.VALIDATION' });
    const missing = await call('DELETE', `/v1/admin/keys/${'f'.repeat(16)}`);
    expect(missing.status).toBe(404);
    expect((await audit('?action=api-key.revoked&limit=1')).body.entries[0]).toMatchObject({ outcome: 'failed', statusCode: 404, errorCode: 'CAIRN.NOT_FOUND', targets: { id: 'f'.repeat(16) } });
  });

  it('pages newest first with an after cursor, and filters by action, actor and time', async () => {
    const everything = await all();
    expect(everything.length).toBeGreaterThan(20);
    for (let i = 1; i < everything.length; i++) expect(everything[i - 1]!.at >= everything[i]!.at).toBe(true);
    const paged: Entry[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await audit(`?limit=4${cursor ? `&after=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.entries.length).toBeLessThanOrEqual(4);
      paged.push(...page.body.entries);
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(Math.ceil(everything.length / 4));
    expect(paged.map((e) => e.id)).toEqual(everything.map((e) => e.id));

    const segments = await all('?action=segment.defined');
    expect(segments.length).toBeGreaterThanOrEqual(2);
    expect(segments.every((e) => e.action === 'segment.defined')).toBe(true);
    expect((await all('?actor=CAIRN_ADMIN_KEY')).map((e) => e.action)).toEqual(['api-key.created']);
    expect((await all(`?actor=${aliceId}`)).length).toBe(everything.length - 1);
    const mid = everything[Math.floor(everything.length / 2)]!.at;
    const before = await all(`?to=${encodeURIComponent(mid)}`);
    const since = await all(`?from=${encodeURIComponent(mid)}`);
    expect(before.every((e) => e.at < mid) && since.every((e) => e.at >= mid)).toBe(true);
    expect(before.length + since.length).toBe(everything.length);

    // Concurrent actions and concurrent readers copying the stream at once: each action once, in order.
    const made = await Promise.all(Array.from({ length: 6 }, (_, i) => call('POST', '/v1/admin/keys', { name: `batch-${i}`, scopes: ['read'] })));
    expect(made.map((r) => r.status)).toEqual(Array(6).fill(201));
    const reads = await Promise.all(Array.from({ length: 4 }, () => all('?action=api-key.created')));
    for (const r of reads) {
      expect(r.map((e) => e.id)).toEqual(reads[0]!.map((e) => e.id));
      expect(new Set(r.map((e) => e.id)).size).toBe(r.length);
      expect(r.filter((e) => e.targets.keyId !== undefined && made.some((m) => m.body.id === e.targets.keyId))).toHaveLength(6);
    }
  });

  it('needs the admin scope, and names the parameter it cannot read', async () => {
    const reader = await call('POST', '/v1/admin/keys', { name: 'analyst', scopes: ['read'] });
    expect((await audit('', reader.body.key)).status).toBe(403);
    expect((await fetch(`${cairn.url}/v1/admin/audit`)).status).toBe(401);
    for (const [query, field] of [
      ['?after=not-a-cursor', 'after'],
      ['?after=YWJj', 'after'],
      ['?action=key.stolen', 'action'],
      ['?limit=0', 'limit'],
      ['?from=yesterday', 'from'],
      ['?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'to'],
      ['?cursor=x', 'cursor'],
    ] as const) {
      const r = await audit(query);
      expect([query, r.status, r.body.error.code, r.body.error.fields[0].field]).toEqual([query, 400, 'CAIRN.VALIDATION', field]);
    }
  });

  it('is not folded by projections and never counts as lag', async () => {
    for (const type of [AUDIT_REQUESTED, AUDIT_COMPLETED]) {
      expect(isFoldedEventType(type)).toBe(false);
      expect(toLogEvent({ event: { id: randomUUID(), type, isJson: true, data: {}, streamId: AUDIT_STREAM, revision: 0n, position: { commit: 1n, prepare: 1n } } } as never)).toBeNull();
    }
    // The last thing in the log is an audit event (a GET of the audit appends nothing; an admin action does).
    expect((await call('POST', '/v1/admin/parked/retry', {})).status).toBe(200);
    const lag = await poll('projections to show no lag after audit events', async () => {
      const r = await call('GET', '/v1/projections');
      const events = (r.body.projections as { lag: { events: number } }[]).map((p) => p.lag.events);
      return events.every((n) => n === 0) ? events : undefined;
    });
    expect(lag.length).toBeGreaterThan(0);
  });

  it('refuses an action with 503 when its audit record cannot be appended, and keeps an action whose outcome could not be', async () => {
    const client = cairn.process.runtime.events.client;
    const original = client.appendToStream.bind(client);
    let failType: string | null = AUDIT_REQUESTED;
    (client as { appendToStream: unknown }).appendToStream = (stream: string, events: { type: string } | { type: string }[], ...rest: unknown[]) => {
      const list = Array.isArray(events) ? events : [events];
      if (stream === AUDIT_STREAM && list.some((e) => e.type === failType)) return Promise.reject(new Error('simulated: disk full'));
      return (original as (...a: unknown[]) => unknown)(stream, events, ...rest);
    };
    try {
      const refused = await call('POST', '/v1/admin/keys', { name: 'never-made', scopes: ['read'] });
      expect(refused.status).toBe(503);
      expect(refused.body.error).toMatchObject({ code: 'CAIRN.UNAVAILABLE', component: 'auditLog' });
      expect(refused.text).not.toContain('disk full');
      const keys = (await call('GET', '/v1/admin/keys')).body.keys as { name: string }[];
      expect(keys.map((k) => k.name)).not.toContain('never-made');

      failType = AUDIT_COMPLETED;
      const made = await call('POST', '/v1/admin/keys', { name: 'made-anyway', scopes: ['read'] });
      expect(made.status).toBe(201);
      const [latest] = (await audit('?action=api-key.created&limit=1')).body.entries as Entry[];
      expect(latest).toMatchObject({ actor: { keyName: 'ops-alice' }, outcome: 'unknown', statusCode: null });
    } finally {
      (client as { appendToStream: unknown }).appendToStream = original;
    }
  });
});
