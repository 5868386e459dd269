import { randomUUID } from 'crypto';
import { startCairn, type TestCairn } from './support/cairn';

describe('spine over HTTP: ingest → event store → projector → read model → query', () => {
  let cairn: TestCairn;
  const auth = () => ({ authorization: `Bearer ${cairn.adminKey}`, 'content-type': 'application/json' });
  const post = (body: unknown, headers: Record<string, string> = auth()) =>
    fetch(`${cairn.url}/v1/events`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });

  beforeAll(async () => {
    cairn = await startCairn();
  });
  afterAll(async () => {
    await cairn?.close();
  });

  const purchase = (customerId: string, overrides: Record<string, unknown> = {}) => ({
    id: randomUUID(),
    type: 'purchase',
    customerId,
    occurredAt: '2026-11-01T10:00:00+01:00',
    channel: 'web',
    orderId: `o-${randomUUID()}`,
    currency: 'USD',
    items: [{ productId: 'p1', quantity: 2, unitPriceMinor: 1250 }],
    shippingMinor: 500,
    totalMinor: 3000,
    ...overrides,
  });

  it('accepts a batch, then reads it back with read-your-writes', async () => {
    const customerId = `c-${randomUUID()}`;
    const events = [
      { type: 'view', customerId, occurredAt: '2026-10-30T09:00:00Z', channel: 'app', productId: 'p1' },
      purchase(customerId),
      { type: 'review', customerId, occurredAt: '2026-11-03T09:00:00Z', channel: 'web', productId: 'p1', rating: 4 },
      { type: 'return', customerId, occurredAt: '2026-11-04T09:00:00Z', channel: 'web', orderId: 'o-x', items: [{ productId: 'p1', quantity: 1 }], refundMinor: 1250, currency: 'USD' },
      { type: 'referral', customerId, occurredAt: '2026-11-05T09:00:00Z', channel: 'email', referralCode: 'FRIEND10' },
      { type: 'identify', customerId, anonymousId: 'anon-1', occurredAt: '2026-10-29T09:00:00Z', channel: 'web', traits: { email: 'a@example.com' } },
    ];
    const res = await post({ events });
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body.results.map((r: { status: string }) => r.status)).toEqual(Array(6).fill('accepted'));
    expect(body.position.commit).toMatch(/^\d+$/);

    const read = await fetch(`${cairn.url}/v1/customers/${customerId}?minPosition=${body.position.commit}`, { headers: auth() });
    expect(read.status).toBe(200);
    const profile = await read.json();
    expect(profile).toMatchObject({
      customerId,
      views: 1,
      orders: 1,
      grossMinor: 3000,
      refundedMinor: 1250,
      netMinor: 1750,
      aovMinor: 3000,
      reviews: 1,
      averageRating: 4,
      referralsMade: 1,
      channels: ['app', 'email', 'web'],
      firstSeenAt: '2026-10-29T09:00:00.000Z',
      lastSeenAt: '2026-11-05T09:00:00.000Z',
    });
    expect(profile.state).toBeUndefined();
  });

  it('answers duplicate for a re-sent id and never double-counts', async () => {
    const customerId = `c-${randomUUID()}`;
    const e = purchase(customerId);
    const first = await (await post(e)).json();
    expect(first.results[0].status).toBe('accepted');
    const again = await (await post({ events: [e, e] })).json();
    expect(again.results.map((r: { status: string }) => r.status)).toEqual(['duplicate', 'duplicate']);
    const read = await fetch(`${cairn.url}/v1/customers/${customerId}?minPosition=${first.position.commit}`, { headers: auth() });
    expect((await read.json()).orders).toBe(1);
  });

  it('accepts the valid events of a batch and rejects the others with field and reason', async () => {
    const customerId = `c-${randomUUID()}`;
    const res = await post({
      events: [
        purchase(customerId),
        purchase(customerId, { totalMinor: 1 }),
        { type: 'review', customerId, occurredAt: '2026-11-03T09:00:00Z', channel: 'web', productId: 'p1', rating: 9 },
        { type: 'view', occurredAt: '2026-11-03T09:00:00Z', channel: 'web', productId: 'p1' },
        { type: 'view', customerId, occurredAt: '2099-01-01T00:00:00Z', channel: 'web', productId: 'p1' },
        { type: 'view', customerId, occurredAt: '2026-11-03', channel: 'fax', productId: 'p1' },
        { type: 'teleport', customerId },
        purchase(customerId, { items: [{ productId: 'p', quantity: 0, unitPriceMinor: 1.5 }] }),
      ],
    });
    expect(res.status).toBe(202);
    const { results } = await res.json();
    expect(results[0].status).toBe('accepted');
    const fields = (i: number) => results[i].errors.map((e: { field: string }) => e.field);
    expect(results.slice(1).every((r: { status: string }) => r.status === 'rejected')).toBe(true);
    expect(fields(1)).toContain('totalMinor');
    expect(fields(2)).toContain('rating');
    expect(fields(3)).toContain('customerId');
    expect(fields(4)).toContain('occurredAt');
    expect(fields(5)).toEqual(expect.arrayContaining(['occurredAt', 'channel']));
    expect(fields(6)).toContain('type');
    expect(fields(7)).toEqual(expect.arrayContaining(['items[0].quantity', 'items[0].unitPriceMinor']));
  });

  it('maps malformed JSON to 400, too large to 413, with a JSON error body', async () => {
    const bad = await post('{"type": "view",');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('CAIRN.MALFORMED_JSON');
    const big = await post({ events: [{ type: 'view', customerId: 'x', occurredAt: '2026-11-03T09:00:00Z', channel: 'web', productId: 'x'.repeat(1_100_000) }] });
    expect(big.status).toBe(413);
    expect((await big.json()).error.code).toBe('CAIRN.PAYLOAD_TOO_LARGE');
    const many = await post({ events: Array.from({ length: 501 }, () => ({ type: 'view' })) });
    expect(many.status).toBe(413);
    const notObject = await post('[1,2]');
    expect(notObject.status).toBe(400);
  });

  it('requires a key (401) with the right scope (403)', async () => {
    const none = await post({ type: 'view' }, { 'content-type': 'application/json' });
    expect(none.status).toBe(401);
    expect((await none.json()).error.code).toBe('CAIRN.UNAUTHENTICATED');
    const wrong = await post({ type: 'view' }, { 'content-type': 'application/json', authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    const created = await fetch(`${cairn.url}/v1/admin/keys`, { method: 'POST', headers: auth(), body: JSON.stringify({ name: 'reader', scopes: ['read'] }) });
    expect(created.status).toBe(201);
    const { key } = await created.json();
    const forbidden = await post({ type: 'view' }, { 'content-type': 'application/json', authorization: `Bearer ${key}` });
    expect(forbidden.status).toBe(403);
    const readable = await fetch(`${cairn.url}/v1/customers?limit=1`, { headers: { authorization: `Bearer ${key}` } });
    expect(readable.status).toBe(200);
  });

  it('pages customers, reports projections, health and metrics', async () => {
    const page = await (await fetch(`${cairn.url}/v1/customers?limit=2`, { headers: auth() })).json();
    expect(page.items.length).toBeLessThanOrEqual(2);
    const bad = await fetch(`${cairn.url}/v1/customers?limit=0`, { headers: auth() });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.fields[0].field).toBe('limit');
    const projections = await (await fetch(`${cairn.url}/v1/projections`, { headers: auth() })).json();
    expect(projections.projections[0]).toMatchObject({ name: 'profiles', version: 3 });
    expect(projections.projections[0].checkpoint).toMatch(/^\d+$/);
    const health = await fetch(`${cairn.url}/health`);
    expect(health.status).toBe(200);
    expect((await health.json()).status).toBe('ok');
    const metrics = await (await fetch(`${cairn.url}/metrics`)).text();
    expect(metrics).toContain('cairn_ingest_events_total{outcome="accepted"}');
    expect(metrics).toContain('cairn_projector_lag_events');
    const docs = await fetch(`${cairn.url}/docs/openapi.json`);
    expect((await docs.json()).paths['/v1/events']).toBeDefined();
  });

  it('404 for an unknown customer, 400 for a bad minPosition', async () => {
    const missing = await fetch(`${cairn.url}/v1/customers/nobody`, { headers: auth() });
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('CAIRN.NOT_FOUND');
    const bad = await fetch(`${cairn.url}/v1/customers/x?minPosition=-1`, { headers: auth() });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.fields[0].field).toBe('minPosition');
  });
});
