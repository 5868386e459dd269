/**
 * The admin operations over HTTP on an in-process Cairn: projection health, parked events, a
 * rebuild of every registered projection with progress polling, and a replay job with its files.
 */
import { randomUUID } from 'crypto';
import { startCairn, type TestCairn } from '../../../../test/support/cairn';

describe('admin operations over HTTP', () => {
  let cairn: TestCairn;
  const headers = (key = cairn.adminKey) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });
  const get = async (path: string, key?: string) => {
    const res = await fetch(`${cairn.url}${path}`, { headers: headers(key) });
    return { status: res.status, body: await res.json() };
  };
  const post = async (path: string, body: unknown, key?: string) => {
    const res = await fetch(`${cairn.url}${path}`, { method: 'POST', headers: headers(key), body: JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  };
  const poll = async (path: string, done: (b: Record<string, unknown>) => boolean) => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const { body } = await get(path);
      if (done(body)) return body;
      if (Date.now() > deadline) throw new Error(`timed out polling ${path}: ${JSON.stringify(body)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const customer = `c-${randomUUID()}`;
  let position = '';

  beforeAll(async () => {
    cairn = await startCairn();
    const events = [
      { type: 'view', customerId: customer, occurredAt: '2026-06-01T09:00:00Z', channel: 'web', productId: 'p1' },
      { type: 'purchase', customerId: customer, occurredAt: '2026-06-10T09:00:00Z', channel: 'web', orderId: 'o1', currency: 'USD', items: [{ productId: 'p1', quantity: 1, unitPriceMinor: 2500 }], totalMinor: 2500 },
      { type: 'purchase', customerId: customer, occurredAt: '2026-07-10T09:00:00Z', channel: 'web', orderId: 'o2', currency: 'USD', items: [{ productId: 'p1', quantity: 1, unitPriceMinor: 1000 }], totalMinor: 1000 },
    ];
    const res = await post('/v1/events', { events });
    expect(res.status).toBe(202);
    position = res.body.position.commit;
    expect((await get(`/v1/customers/${customer}?minPosition=${position}`)).status).toBe(200);
  });
  afterAll(async () => {
    await cairn?.close();
  });

  it('reports every projection: version, state, checkpoint, lag, rate, parked, last error', async () => {
    const { status, body } = await get('/v1/admin/projections');
    expect(status).toBe(200);
    const profiles = body.projections.find((p: { name: string }) => p.name === 'profiles');
    expect(profiles).toMatchObject({ name: 'profiles', version: expect.any(Number), parked: 0, lastError: null, rebuild: null });
    expect(['live', 'catching-up']).toContain(profiles.state);
    expect(profiles.checkpoint).toMatch(/^\d+$/);
    expect(profiles.lag).toMatchObject({ events: expect.any(Number), seconds: expect.any(Number) });
    expect((await get('/v1/admin/parked')).body).toEqual({ parked: [] });
    expect((await post('/v1/admin/parked/retry', {})).body.results.every((r: { retried: number }) => r.retried === 0)).toBe(true);
  });

  it('shows a rebuild running in another process as state rebuilding', async () => {
    const db = cairn.process.runtime.readStore.db;
    const now = new Date().toISOString();
    await db
      .insertInto('rebuilds')
      .values({ job_id: 'elsewhere', projections: 'profiles', status: 'building', shadow: 'x', keep_old: 0, started_at: now, updated_at: now, finished_at: null, error: null, events_done: 42, position: null, head: null, owner: 'another-host:1' })
      .execute();
    try {
      const profiles = (await get('/v1/admin/projections')).body.projections.find((p: { name: string }) => p.name === 'profiles');
      expect(profiles).toMatchObject({ state: 'rebuilding', rebuild: { id: 'elsewhere', phase: 'building', done: 42 } });
      expect((await post('/v1/admin/rebuilds', { projections: ['profiles'] })).status).toBe(409);
    } finally {
      await db.deleteFrom('rebuilds').where('job_id', '=', 'elsewhere').execute();
    }
  });

  it('needs the admin scope', async () => {
    const { body } = await post('/v1/admin/keys', { name: 'reader', scopes: ['read'] });
    expect((await get('/v1/admin/projections', body.key)).status).toBe(403);
    expect((await post('/v1/admin/rebuilds', { projections: ['all'] }, body.key)).status).toBe(403);
  });

  it('rebuilds every projection with progress polling; the profile reads the same after the switch', async () => {
    const before = (await get(`/v1/customers/${customer}`)).body;
    const started = await post('/v1/admin/rebuilds', { projections: ['all'] });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ id: expect.any(String), phase: expect.stringMatching(/building|switching|switched/) });
    const done = await poll(`/v1/admin/rebuilds/${started.body.id}`, (b) => b.phase !== 'building' && b.phase !== 'switching');
    expect(done).toMatchObject({ phase: 'switched', error: null });
    expect(done.done).toBeGreaterThanOrEqual(3);
    expect((await get(`/v1/customers/${customer}`)).body).toEqual(before);
    // Live again: a new event lands in the rebuilt model.
    const res = await post('/v1/events', { type: 'view', customerId: customer, occurredAt: '2026-07-11T09:00:00Z', channel: 'app', productId: 'p2' });
    const after = (await get(`/v1/customers/${customer}?minPosition=${res.body.position.commit}`)).body;
    expect(after.views).toBe(before.views + 1);
  });

  it('rejects bad rebuild and replay requests with the field', async () => {
    expect((await post('/v1/admin/rebuilds', { projections: [] })).body.error.fields[0].field).toBe('projections');
    const unknown = await post('/v1/admin/rebuilds', { projections: ['nope'] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('CAIRN.VALIDATION');
    const bad = await post('/v1/admin/replays', { asOf: 'yesterday', extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.map((f: { field: string }) => f.field)).toEqual(expect.arrayContaining(['asOf', 'extra']));
    expect((await get('/v1/admin/replays/nope')).status).toBe(404);
    expect((await get('/v1/admin/rebuilds/nope')).status).toBe(404);
  });

  it('runs a replay as a job with progress, as of a past instant, and serves its files', async () => {
    const started = await post('/v1/admin/replays', { projections: ['profiles'], asOf: '2026-06-30T23:59:59Z', rules: { currency: 'EUR' } });
    expect(started.status).toBe(202);
    const done = await poll(`/v1/admin/replays/${started.body.id}`, (b) => b.state !== 'running');
    expect(done).toMatchObject({ state: 'done', error: null, progress: { phase: 'done' } });
    const { body } = await get(`/v1/admin/replays/${started.body.id}/files`);
    const baseline = JSON.parse(body.files['baseline/profiles.json']).find((r: { customer_id: string }) => r.customer_id === customer);
    expect(baseline).toMatchObject({ orders: 1, gross_minor: 2500 });
    const summary = JSON.parse(body.files['summary.json']);
    expect(summary.whatIf.tables.profiles.changed).toBeGreaterThanOrEqual(1);
  });
});
