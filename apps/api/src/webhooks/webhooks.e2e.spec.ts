/**
 * Signed webhooks end to end: segment membership changes (a real segment, real events) reach a
 * loopback receiver that verifies every signature with `standardwebhooks`; a receiver failing the
 * first 3 attempts still gets each delivery, in order per customer, with the same webhook-id; a
 * hanging endpoint does not slow a healthy one; Retry-After is honoured and 410 disables; URLs
 * aimed at link-local or metadata addresses are refused.
 */
import { randomUUID } from 'crypto';
import { startCairn, type TestCairn } from '../../../../test/support/cairn';
import { e2eReadModels } from '../../../../test/support/read-stores';
import { startReceiver, waitFor, type Receiver } from './webhook-receiver.test-support';

const TIMEOUT_MS = 8000;
/** The retry window, shortened from 24 h so a dead endpoint's delivery is dead-lettered within the spec. */
const RETRY_FOR_MS = 3000;

/** SQLite (the default read store), and PostgreSQL in a schema of its own. */
const STORES = e2eReadModels('t_wh');

describe.each(STORES)('signed webhooks (%s read store)', (_name, openStore) => {
  let cairn: TestCairn;
  let store: { readModel?: string; cleanup: () => Promise<void> };
  let receiver: Receiver;
  let segmentId: string;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${cairn.url}${path}`, { method, headers: { authorization: `Bearer ${cairn.adminKey}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : undefined };
  };
  const purchase = (customerId: string, n: number) => ({
    type: 'purchase',
    customerId,
    occurredAt: new Date(Date.now() - 3_600_000 + n * 1000).toISOString(),
    channel: 'web',
    orderId: `o-${customerId}-${n}`,
    currency: 'USD',
    items: [{ productId: 'p1', quantity: 1, unitPriceMinor: 1000 }],
    totalMinor: 1000,
  });
  const register = async (path: string, kinds = ['segment.entered', 'segment.exited']) => {
    const res = await call('POST', '/v1/webhooks', { url: `${receiver.url}${path}`, kinds, segmentId });
    expect(res.status).toBe(201);
    expect(res.body!.secret).toMatch(/^whsec_/);
    receiver.secrets.set(path, res.body!.secret as string);
    return res.body!.id as string;
  };
  const successes = (path: string) => receiver.requests.filter((r) => r.path === path && r.answered >= 200 && r.answered < 300);
  /** Customers enter (first order) then exit (second order) the "exactly one order" segment. */
  const enterThenExit = async (customers: string[], path: string) => {
    expect((await call('POST', '/v1/events', { events: customers.map((c) => purchase(c, 1)) })).status).toBe(202);
    await waitFor(`segment.entered of ${customers.length} customers at ${path}`, () => new Set(receiver.requests.filter((r) => r.path === path && r.body.type === 'segment.entered').map((r) => r.body.data.customerId)).size, (n) => n === customers.length);
    expect((await call('POST', '/v1/events', { events: customers.map((c) => purchase(c, 2)) })).status).toBe(202);
  };

  beforeAll(async () => {
    receiver = await startReceiver();
    store = await openStore();
    cairn = await startCairn({
      ...(store.readModel ? { readModel: store.readModel } : {}),
      env: { CAIRN_WEBHOOK_URLS: 'dev', CAIRN_WEBHOOK_RETRY_BASE_MS: '50', CAIRN_WEBHOOK_RETRY_FOR_MS: String(RETRY_FOR_MS), CAIRN_WEBHOOK_POLL_MS: '50', CAIRN_WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS), CAIRN_SEGMENT_POLL_MS: '50', CAIRN_SEGMENT_INTERVAL_MS: '600000' },
    });
    const seg = await call('POST', '/v1/segments', { name: 'exactly one order', condition: { field: 'orders', op: '=', value: 1 } });
    segmentId = seg.body!.id as string;
  }, 60_000);
  afterAll(async () => {
    await cairn?.close();
    await receiver?.close();
    await store?.cleanup();
  });

  it('refuses link-local, metadata and malformed URLs and unknown kinds, naming the field', async () => {
    for (const url of ['http://169.254.169.254/latest/meta-data', 'http://[fe80::1]/hook', 'http://metadata.google.internal/x', 'http://[::ffff:169.254.169.254]/', 'ftp://example.com/x', 'not a url']) {
      const res = await call('POST', '/v1/webhooks', { url, kinds: ['segment.entered'] });
      expect([url, res.status, res.body!.error.fields[0].field]).toEqual([url, 400, 'url']);
    }
    const kind = await call('POST', '/v1/webhooks', { url: `${receiver.url}/x`, kinds: ['segment.entered', 'tier.upgraded'] });
    expect(kind.body!.error.fields[0]).toEqual({ field: 'kinds[1]', message: expect.stringContaining('must be one of') });
    const days = await call('POST', '/v1/webhooks', { url: `${receiver.url}/x`, kinds: ['points.earned'], expiringDays: 7 });
    expect(days.body!.error.fields[0]).toEqual({ field: 'expiringDays', message: expect.stringContaining('points.expiring only') });
    expect((await call('POST', '/v1/webhooks', { url: `${receiver.url}/x`, kinds: ['segment.entered'], segmentId: 'nope' })).body!.error.fields[0].field).toBe('segmentId');
  });

  it('delivers through 3 failed attempts each: same webhook-id, every signature verified, in order per customer; a hanging endpoint slows only itself', async () => {
    receiver.respond = (path, _id, attempt) => (path === '/hang' ? 'hang' : path === '/flaky' && attempt <= 3 ? { status: attempt === 2 ? 429 : 500 } : { status: 200 });
    const flaky = await register('/flaky');
    await register('/hang');
    const healthy = await register('/healthy');
    const customers = Array.from({ length: 6 }, () => `wh-${randomUUID()}`);
    const started = Date.now();
    await enterThenExit(customers, '/healthy');
    await waitFor('both changes of every customer at /healthy', () => successes('/healthy').length, (n) => n === customers.length * 2);
    // The hanging endpoint holds up to 16 requests open until its timeout; the healthy one was never behind it.
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS * 2);
    const hung = receiver.requests.filter((r) => r.path === '/hang');
    expect(hung.length).toBeGreaterThan(0);
    expect(hung.every((r) => r.answered === 0)).toBe(true);

    await waitFor('both changes of every customer at /flaky', () => successes('/flaky').length, (n) => n === customers.length * 2);
    const flakyRequests = receiver.requests.filter((r) => r.path === '/flaky');
    expect(flakyRequests.every((r) => r.verified)).toBe(true);
    expect(receiver.requests.filter((r) => r.path === '/healthy').every((r) => r.verified)).toBe(true);
    const byId = new Map<string, number[]>();
    for (const r of flakyRequests) byId.set(r.id, [...(byId.get(r.id) ?? []), r.answered]);
    expect([...byId.values()]).toEqual(Array.from({ length: customers.length * 2 }, () => [500, 429, 500, 200]));
    for (const c of customers) {
      expect(successes('/flaky').filter((r) => r.body.data.customerId === c).map((r) => r.body.type)).toEqual(['segment.entered', 'segment.exited']);
      expect(successes('/healthy').filter((r) => r.body.data.customerId === c).map((r) => r.body.type)).toEqual(['segment.entered', 'segment.exited']);
    }

    const deliveries = await call('GET', `/v1/webhooks/${flaky}/deliveries?limit=500`);
    expect(deliveries.body!.items).toHaveLength(customers.length * 2);
    const first = deliveries.body!.items[0];
    expect(first).toMatchObject({ status: 'delivered', kind: 'segment.entered', payload: { type: 'segment.entered', data: { segmentId } } });
    expect(first.attempts.map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 429, 500, 200]);
    expect(first.attempts.every((a: { latencyMs: number }) => a.latencyMs >= 0)).toBe(true);

    // A delivery re-sent: the receiver gets it again with the same webhook-id.
    const again = await call('POST', `/v1/webhooks/${healthy}/deliveries/${successes('/healthy')[0]!.id}/resend`);
    expect(again).toEqual({ status: 202, body: { resent: 1 } });
    const resentId = successes('/healthy')[0]!.id;
    await waitFor('the re-sent delivery', () => successes('/healthy').filter((r) => r.id === resentId).length, (n) => n === 2);

    // A time range re-sent: every delivery queued in it arrives again, same ids.
    const range = await call('POST', `/v1/webhooks/${healthy}/resend`, { from: new Date(started - 1000).toISOString(), to: new Date(Date.now() + 1000).toISOString() });
    expect(range).toEqual({ status: 202, body: { resent: customers.length * 2 } });
    await waitFor('the re-sent range', () => successes('/healthy').length, (n) => n === customers.length * 4 + 1);
    expect(new Set(successes('/healthy').map((r) => r.id)).size).toBe(customers.length * 2);
    expect((await call('POST', `/v1/webhooks/${healthy}/resend`, { from: 'yesterday', to: 'now' })).body!.error.fields[0].field).toBe('from');
  }, 90_000);

  it('honours Retry-After, then disables the endpoint on 410 and resumes it when enabled', async () => {
    receiver.respond = (path, _id, attempt) => (path !== '/gone' ? { status: 200 } : attempt === 1 ? { status: 503, headers: { 'retry-after': '1' } } : attempt === 2 ? { status: 410 } : { status: 200 });
    const gone = await register('/gone', ['segment.entered']);
    const customer = `gone-${randomUUID()}`;
    expect((await call('POST', '/v1/events', purchase(customer, 1))).status).toBe(202);
    const disabled = await waitFor('the endpoint disabled by its 410', async () => (await call('GET', `/v1/webhooks/${gone}`)).body!, (w) => w.status === 'disabled');
    expect(disabled.disabledReason).toMatch(/410 Gone/);
    const attempts = receiver.requests.filter((r) => r.path === '/gone');
    expect(attempts.map((r) => r.answered)).toEqual([503, 410]);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(950);
    expect((await call('POST', `/v1/webhooks/${gone}/enable`)).body!.status).toBe('enabled');
    await waitFor('the pending delivery after enabling', () => successes('/gone').length, (n) => n === 1);
    expect(new Set(receiver.requests.filter((r) => r.path === '/gone').map((r) => r.id)).size).toBe(1);
  }, 60_000);

  it('dead-letters a delivery its endpoint never accepts once the retry window has passed', async () => {
    receiver.respond = (path) => (path === '/dead' ? { status: 500 } : { status: 200 });
    const dead = await register('/dead', ['segment.entered']);
    const customer = `dead-${randomUUID()}`;
    expect((await call('POST', '/v1/events', purchase(customer, 1))).status).toBe(202);
    const [delivery] = await waitFor('the delivery dead-lettered', async () => (await call('GET', `/v1/webhooks/${dead}/deliveries?status=dead`)).body!.items as { createdAt: string; attempts: { at: string; statusCode: number }[] }[], (items) => items.length === 1);
    expect(delivery!.attempts.length).toBeGreaterThan(2);
    expect(delivery!.attempts.every((a) => a.statusCode === 500)).toBe(true);
    // Backoff: each wait at least half the one before's doubling (jitter in [0.5, 1)).
    const gaps = delivery!.attempts.slice(1).map((a, i) => Date.parse(a.at) - Date.parse(delivery!.attempts[i]!.at));
    gaps.forEach((g, i) => expect(g).toBeGreaterThanOrEqual(Math.floor(50 * 2 ** i * 0.5) - 5));
    // No attempt is scheduled past the window (made up to a poll, and a busy machine's delay, later).
    expect(Date.parse(delivery!.attempts[delivery!.attempts.length - 1]!.at) - Date.parse(delivery!.createdAt)).toBeLessThanOrEqual(RETRY_FOR_MS + 1000);
    expect((await call('GET', `/v1/webhooks/${dead}/deliveries?status=pending`)).body!.items).toEqual([]);
  }, 60_000);
});
