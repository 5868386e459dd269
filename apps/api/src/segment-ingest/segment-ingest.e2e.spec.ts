/**
 * The real Segment and RudderStack Node SDKs from npm, pointed at Cairn (host = Cairn's address,
 * path = /v1/segment/batch, write key = a Cairn ingest key), send an anonymous Product Viewed, an
 * identify, two Order Completed and an Order Refunded: the profile shows exactly those orders and
 * that money, and a re-sent batch (the SDK's own request body, byte for byte) is deduplicated.
 */
import { randomUUID } from 'crypto';
import { Analytics } from '@segment/analytics-node';
import { startCairn, type TestCairn } from '../../../../test/support/cairn';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const RudderAnalytics = require('@rudderstack/rudder-sdk-node') as new (writeKey: string, opts: Record<string, unknown>) => {
  track(m: Record<string, unknown>): void;
  identify(m: Record<string, unknown>): void;
  flush(): Promise<unknown>;
};

describe('the Segment-compatible door', () => {
  let cairn: TestCairn;
  let writeKey: string;
  const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
  const post = async (path: string, body: unknown, auth = basic(writeKey)) => {
    const res = await fetch(`${cairn.url}${path}`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  /** The profile once the read models include `position` (a write made after everything under test). */
  const profileAfter = async (customerId: string) => {
    const marker = await fetch(`${cairn.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cairn.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'view', customerId: `marker-${randomUUID()}`, occurredAt: new Date().toISOString(), channel: 'web', productId: 'marker' }),
    });
    const { position } = (await marker.json()) as { position: { commit: string } };
    const res = await fetch(`${cairn.url}/v1/customers/${customerId}?minPosition=${position.commit}`, { headers: { authorization: `Bearer ${cairn.adminKey}` } });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, any>;
  };

  beforeAll(async () => {
    cairn = await startCairn();
    const res = await fetch(`${cairn.url}/v1/admin/keys`, { method: 'POST', headers: { authorization: `Bearer ${cairn.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'segment', scopes: ['ingest'] }) });
    writeKey = ((await res.json()) as { key: string }).key;
  }, 60_000);
  afterAll(async () => {
    await cairn?.close();
  });

  it('@segment/analytics-node: the profile shows exactly the orders and money sent; a re-sent batch is a duplicate', async () => {
    const [user, anon] = [`seg-${randomUUID()}`, `anon-${randomUUID()}`];
    const analytics = new Analytics({ writeKey, host: cairn.url, path: '/v1/segment/batch', flushInterval: 60_000, maxEventsInBatch: 100 });
    const bodies: string[] = [];
    const statuses: number[] = [];
    analytics.on('http_request', (r) => bodies.push(r.body as string));
    analytics.on('http_response', (r) => statuses.push(r.status));
    const t = (minutes: number) => new Date(Date.now() - 60 * 60_000 + minutes * 60_000);
    analytics.track({ anonymousId: anon, event: 'Product Viewed', timestamp: t(0), properties: { product_id: 'sku-1', category: 'shoes', price: 49.99, currency: 'USD' } });
    analytics.identify({ userId: user, anonymousId: anon, timestamp: t(1), traits: { email: 'ada@example.com', address: { country: 'DE' } } });
    analytics.track({ userId: user, event: 'Order Completed', timestamp: t(2), properties: { order_id: `o1-${user}`, currency: 'USD', total: 54.89, shipping: 4.9, products: [{ product_id: 'sku-1', price: 49.99, quantity: 1 }] } });
    analytics.track({ userId: user, event: 'Order Completed', timestamp: t(3), properties: { order_id: `o2-${user}`, currency: 'USD', revenue: 30, discount: 5, coupon: 'WELCOME', products: [{ product_id: 'sku-2', price: 10, quantity: 3 }] } });
    analytics.track({ userId: user, event: 'Order Refunded', timestamp: t(4), properties: { order_id: `o2-${user}`, currency: 'USD', total: 10, products: [{ product_id: 'sku-2', quantity: 1 }] } });
    analytics.track({ userId: user, event: 'Newsletter Opened', timestamp: t(5), properties: { list: 'weekly', issue: 42 } });
    await analytics.closeAndFlush();
    expect(statuses).toEqual([200]);
    expect(bodies).toHaveLength(1);

    const profile = await profileAfter(user);
    expect(profile).toMatchObject({ customerId: user, views: 1, orders: 2, currency: 'USD', grossMinor: 5489 + 2500, refundedMinor: 1000, netMinor: 5489 + 2500 - 1000 });
    expect(profile.identity.anonymousIds).toEqual([anon]);
    // The track event outside the e-commerce mapping is kept as a custom event, in the timeline.
    const timeline = (await (await fetch(`${cairn.url}/v1/customers/${user}/events`, { headers: { authorization: `Bearer ${cairn.adminKey}` } })).json()) as { items: { type: string; data: Record<string, unknown> }[] };
    expect(timeline.items.filter((e) => e.type === 'cairn.custom.v1').map((e) => [e.data.name, e.data.properties])).toEqual([['Newsletter Opened', { list: 'weekly', issue: 42 }]]);

    // The SDK's own request body, sent again (a retry after a lost answer): every message a duplicate, the profile unchanged.
    const again = await post('/v1/segment/batch', bodies[0]!);
    expect(again.status).toBe(200);
    expect(again.body.success).toBe(true);
    expect(again.body.results.map((r: { status: string }) => r.status)).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
    expect(await profileAfter(user)).toMatchObject({ views: 1, orders: 2, grossMinor: 7989, refundedMinor: 1000 });
  });

  it('@rudderstack/rudder-sdk-node speaks the same protocol (Basic auth, gzip body)', async () => {
    const user = `rud-${randomUUID()}`;
    const client = new RudderAnalytics(writeKey, { dataPlaneUrl: cairn.url, path: '/v1/segment/batch', flushAt: 100, flushInterval: 60_000, logLevel: 'error' });
    const at = new Date(Date.now() - 60_000);
    client.track({ userId: user, event: 'Order Completed', originalTimestamp: at, properties: { order_id: `r-${user}`, currency: 'JPY', total: 1500, products: [{ product_id: 'sku-9', price: 1500 }] } } as Record<string, unknown>);
    client.track({ userId: user, event: 'Product Reviewed', originalTimestamp: at, properties: { product_id: 'sku-9', rating: 5, review_body: 'great' } } as Record<string, unknown>);
    await client.flush();
    const profile = await profileAfter(user);
    expect(profile).toMatchObject({ orders: 1, grossMinor: 0, reviews: 1, otherCurrencies: { JPY: expect.objectContaining({ grossMinor: 1500 }) } });
  });

  it('answers a malformed payload 400 naming each field, records nothing; Cairn rejections are per message', async () => {
    const user = `bad-${randomUUID()}`;
    const malformed = await post('/v1/segment/batch', {
      batch: [
        { type: 'track', event: 'Product Viewed', userId: user, properties: { product_id: 'p' } },
        { type: 'track', userId: user },
        { type: 'track', event: 'Order Completed', userId: user, properties: { products: [{ product_id: 'p', price: '9.99' }] } },
      ],
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('CAIRN.VALIDATION');
    expect(malformed.body.error.fields).toEqual([
      { field: 'batch[1].event', message: 'a track call needs the event name' },
      { field: 'batch[2].properties.products[0].price', message: 'must be a number' },
    ]);
    expect((await post('/v1/segment/batch', { batch: 'x' })).body.error.fields).toEqual([{ field: 'batch', message: 'must be an array of messages' }]);
    expect((await post('/v1/segment/track', { event: 'Product Viewed' })).body.error.fields).toEqual([{ field: 'userId', message: 'userId or anonymousId is required' }]);
    expect((await post('/v1/segment/track', '{"event":')).status).toBe(400);

    const perMessage = await post('/v1/segment/track', { userId: user, event: 'Product Reviewed', properties: { product_id: 'p', rating: 9 } });
    expect(perMessage.status).toBe(200);
    expect(perMessage.body.results).toEqual([{ index: 0, status: 'rejected', errors: [{ field: 'properties.rating', message: expect.stringContaining('5') }] }]);
    expect((await post('/v1/segment/page', { userId: user, name: 'Home' })).body.results[0]).toMatchObject({ status: 'unmapped' });
    expect((await post('/v1/segment/identify', { userId: user, anonymousId: `a-${user}`, traits: { plan: 'pro' } })).body.results[0]).toMatchObject({ status: 'accepted' });
    const profile = await profileAfter(user);
    expect(profile).toMatchObject({ views: 0, orders: 0, reviews: 0 });

    expect((await post('/v1/segment/batch', { batch: [] }, basic('nope-not-a-key'))).status).toBe(401);
    const metrics = await (await fetch(`${cairn.url}/metrics`)).text();
    expect(metrics).toMatch(/cairn_segment_messages_total\{outcome="malformed"\} [1-9]/);
    expect(metrics).toMatch(/cairn_segment_messages_total\{outcome="unmapped"\} [1-9]/);
  });
});
