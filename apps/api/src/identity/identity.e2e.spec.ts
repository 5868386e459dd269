import { randomUUID } from 'crypto';
import { startCairn, type TestCairn } from '../../../../test/support/cairn';

describe('identity over HTTP: retroactive linking, merge and unmerge', () => {
  let cairn: TestCairn;
  const auth = () => ({ authorization: `Bearer ${cairn.adminKey}`, 'content-type': 'application/json' });
  const post = async (path: string, body: unknown) => fetch(`${cairn.url}${path}`, { method: 'POST', headers: auth(), body: JSON.stringify(body) });
  const ingest = async (events: unknown[]) => {
    const res = await post('/v1/events', { events });
    const body = await res.json();
    expect(body.results.every((r: { status: string }) => r.status === 'accepted')).toBe(true);
    return body.position.commit as string;
  };
  const customer = async (id: string, minPosition?: string) => {
    const res = await fetch(`${cairn.url}/v1/customers/${id}${minPosition ? `?minPosition=${minPosition}` : ''}`, { headers: auth() });
    return { status: res.status, body: await res.json() };
  };

  beforeAll(async () => {
    cairn = await startCairn();
  });
  afterAll(async () => {
    await cairn?.close();
  });

  it('gives a customer the views made before login, merges and unmerges', async () => {
    const [c1, c2, anon] = [`c-${randomUUID()}`, `c-${randomUUID()}`, `a-${randomUUID()}`];
    const purchase = (customerId: string, orderId: string, occurredAt: string) => ({
      type: 'purchase', customerId, occurredAt, channel: 'web', orderId, currency: 'USD',
      items: [{ productId: 'p1', category: 'shoes', quantity: 1, unitPriceMinor: 2000 }], totalMinor: 2000,
    });
    let pos = await ingest([
      { type: 'view', anonymousId: anon, occurredAt: '2026-10-01T09:00:00Z', channel: 'web', productId: 'p1', category: 'shoes' },
      { type: 'view', anonymousId: anon, occurredAt: '2026-10-02T09:00:00Z', channel: 'app', productId: 'p2', category: 'bags' },
      purchase(c1, `o-${randomUUID()}`, '2026-10-05T09:00:00Z'),
      purchase(c2, `o-${randomUUID()}`, '2026-11-05T09:00:00Z'),
    ]);
    expect((await customer(c1, pos)).body.views).toBe(0);
    pos = await ingest([{ type: 'identify', customerId: c1, anonymousId: anon, occurredAt: '2026-10-03T09:00:00Z', channel: 'web' }]);
    const linked = await customer(c1, pos);
    expect(linked.status).toBe(200);
    expect(linked.body).toMatchObject({ customerId: c1, views: 2, channels: ['app', 'web'], identity: { customerId: c1, customerIds: [c1], anonymousIds: [anon] } });
    expect(linked.body.lifecycleStage).toMatch(/^(new|active|at_risk|lapsed)$/);
    expect(linked.body.favouriteCategories.viewed).toEqual([{ category: 'bags', count: 1 }, { category: 'shoes', count: 1 }]);
    const before = (await customer(c2)).body;

    const merge = await post('/v1/identity/merges', { survivorId: c2, mergedId: c1, reason: 'same person' });
    expect(merge.status).toBe(201);
    const { mergeId } = await merge.json();
    const merged = await customer(c1);
    expect(merged.body).toMatchObject({ customerId: c2, orders: 2, views: 2, identity: { requestedId: c1, customerId: c2, customerIds: [c1, c2].sort(), anonymousIds: [anon] } });
    expect(merged.body.identity.merges).toEqual([{ mergeId, survivorId: c2, mergedId: c1 }]);

    const unmerge = await fetch(`${cairn.url}/v1/identity/merges/${mergeId}`, { method: 'DELETE', headers: auth() });
    expect(unmerge.status).toBe(200);
    const after = (await customer(c2)).body;
    expect(after).toEqual(before);
    expect((await customer(c1)).body).toMatchObject({ customerId: c1, orders: 1, views: 2 });
    const again = await fetch(`${cairn.url}/v1/identity/merges/${mergeId}`, { method: 'DELETE', headers: auth() });
    expect(again.status).toBe(404);
  });

  it('rejects bad merges naming the field', async () => {
    const bad = await post('/v1/identity/merges', { survivorId: 'x', mergedId: 7 });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.fields).toEqual([{ field: 'mergedId', message: expect.any(String) }]);
    const unknown = await post('/v1/identity/merges', { survivorId: `nobody-${randomUUID()}`, mergedId: `nobody-${randomUUID()}` });
    expect(unknown.status).toBe(404);
    const badId = await fetch(`${cairn.url}/v1/identity/merges/not-a-uuid`, { method: 'DELETE', headers: auth() });
    expect(badId.status).toBe(400);
  });
});
