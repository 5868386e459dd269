/**
 * Webhook kinds with no event of their own, end to end on a real Cairn (loyalty program, real
 * purchases in business time in the past) and a loopback receiver verifying every signature with
 * `standardwebhooks`: a purchase crossing a tier threshold delivers one tier.changed (Bronze →
 * Silver), each purchase one points.earned, points due to expire within an endpoint's horizon one
 * points.expiring, a customer whose last order is older than the lapsed threshold one
 * customer.lapsed; after a restart on the same data, none of them is delivered again.
 */
import { randomUUID } from 'crypto';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { startCairn, type TestCairn } from '../../../../test/support/cairn';
import { e2eReadModels } from '../../../../test/support/read-stores';
import { startReceiver, waitFor, type Receiver } from './webhook-receiver.test-support';

const DAY = 86_400_000;
const PROGRAM = {
  currency: 'USD',
  earn: { pointsPerUnit: 1, unitMinor: 100, rounding: 'floor', review: null },
  pendingDays: 0,
  expiry: { mode: 'fixed', days: 30 },
  returns: { negativeBalance: 'allow' },
  tiers: {
    basis: 'points',
    window: { kind: 'rolling', days: 365 },
    downgrade: 'never',
    levels: [
      { name: 'Bronze', threshold: 0, multiplier: 1 },
      { name: 'Silver', threshold: 100, multiplier: 1 },
    ],
  },
};

describe.each(e2eReadModels('t_whs'))('webhook signals (%s read store)', (_name, openStore) => {
  let cairn: TestCairn;
  let store: { readModel?: string; cleanup: () => Promise<void> };
  let receiver: Receiver;
  /** Ours, so that the restart finds the same event store (and SQLite read store). */
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-whs-'));
  const env = { CAIRN_WEBHOOK_URLS: 'dev', CAIRN_WEBHOOK_RETRY_BASE_MS: '50', CAIRN_WEBHOOK_POLL_MS: '50', CAIRN_WEBHOOK_SIGNALS_MS: '200', CAIRN_SEGMENT_POLL_MS: '50', CAIRN_SEGMENT_INTERVAL_MS: '600000' };
  const tag = randomUUID().slice(0, 8);
  const [tierC, expC, lapC, lateC] = ['tier', 'exp', 'lap', 'late'].map((c) => `${c}-${tag}`) as [string, string, string, string];
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${cairn.url}${path}`, { method, headers: { authorization: `Bearer ${cairn.adminKey}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : undefined };
  };
  const purchase = (customerId: string, n: number, daysAgo: number, totalMinor: number) => ({
    type: 'purchase',
    customerId,
    occurredAt: new Date(Date.now() - daysAgo * DAY).toISOString(),
    channel: 'web',
    orderId: `o-${customerId}-${n}`,
    currency: 'USD',
    items: [{ productId: 'p1', quantity: 1, unitPriceMinor: totalMinor }],
    totalMinor,
  });
  const send = async (events: unknown[]) => {
    const res = await call('POST', '/v1/events', { events });
    expect(res.status).toBe(202);
    expect(res.body!.results.filter((r: { status: string }) => r.status !== 'accepted')).toEqual([]);
  };
  const register = async (path: string, body: Record<string, unknown>) => {
    const res = await call('POST', '/v1/webhooks', { url: `${receiver.url}${path}`, ...body });
    expect(res.status).toBe(201);
    receiver.secrets.set(path, res.body!.secret as string);
    return res.body!;
  };
  const ok = (path: string) => receiver.requests.filter((r) => r.path === path && r.answered >= 200 && r.answered < 300);
  const about = (path: string, customerId: string) => ok(path).filter((r) => r.body.data.customerId === customerId);

  beforeAll(async () => {
    receiver = await startReceiver();
    store = await openStore();
    cairn = await startCairn({ dataDir, ...(store.readModel ? { readModel: store.readModel } : {}), env });
  }, 60_000);
  afterAll(async () => {
    await cairn?.close();
    await receiver?.close();
    await store?.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('delivers tier.changed, points.earned, points.expiring and customer.lapsed once each, signed, and not again after a restart', async () => {
    expect((await call('PUT', '/v1/loyalty/program', { program: PROGRAM, effectiveFrom: '2020-01-01T00:00:00Z' })).status).toBe(200);
    const expiring = await register('/expiring', { kinds: ['points.expiring'], expiringDays: 7 });
    expect(expiring.expiringDays).toBe(7);
    await register('/tier', { kinds: ['tier.changed'], tier: 'Silver' });
    await register('/earned', { kinds: ['points.earned'] });
    await register('/lapsed', { kinds: ['customer.lapsed'] });
    // tierC: 50 points two days ago (Bronze); expC: 10 points 26 days ago, expiring in 4 days (fixed 30);
    // lapC: last order 400 days ago (lapsed beyond 180 days).
    await send([purchase(tierC, 1, 2, 5000), purchase(expC, 1, 26, 1000), purchase(lapC, 1, 400, 2000)]);
    await waitFor(`points.earned of ${tierC}'s first order`, () => about('/earned', tierC).length, (n) => n >= 1);
    // 60 more points yesterday: 110 crosses Silver's 100.
    await send([purchase(tierC, 2, 1, 6000)]);
    await waitFor(`tier.changed of ${tierC}`, () => about('/tier', tierC).length, (n) => n >= 1);
    await waitFor(`points.earned of ${tierC}'s second order`, () => new Set(about('/earned', tierC).map((r) => r.id)).size, (n) => n >= 2);
    await waitFor(`points.expiring of ${expC}`, () => about('/expiring', expC).length, (n) => n >= 1);
    await waitFor(`customer.lapsed of ${lapC}`, () => about('/lapsed', lapC).length, (n) => n >= 1);

    // A restart on the same data: the state and outbox survive; a new purchase's points.earned
    // proves a full round ran after the restart (one page holds every customer here).
    await cairn.close();
    cairn = await startCairn({ dataDir, ...(store.readModel ? { readModel: store.readModel } : {}), env });
    await send([purchase(lateC, 1, 0.5, 1000)]);
    await waitFor(`points.earned of ${lateC} after the restart`, () => about('/earned', lateC).length, (n) => n >= 1);
    await waitFor(`no delivery pending (${receiver.requests.length} requests)`, async () => {
      const list = await call('GET', '/v1/webhooks');
      return (list.body!.items as { deliveries: { pending: number } }[]).reduce((n, h) => n + h.deliveries.pending, 0);
    }, (n) => n === 0);

    expect(receiver.requests.every((r) => r.verified)).toBe(true);
    const tier = about('/tier', tierC);
    expect(tier.map((r) => [r.body.type, (r.body.data as any).from, (r.body.data as any).to])).toEqual([['tier.changed', 'Bronze', 'Silver']]);
    expect(ok('/tier').map((r) => r.body.data.customerId)).toEqual([tierC]); // the others stay Bronze
    const earned = about('/earned', tierC).map((r) => (r.body.data as any).points as number);
    expect(earned).toEqual([50, 60]);
    expect(ok('/earned').map((r) => r.body.data.customerId).sort()).toEqual([tierC, tierC, expC, lapC, lateC].sort());
    const exp = ok('/expiring');
    expect(exp.map((r) => [r.body.data.customerId, (r.body.data as any).points, (r.body.data as any).daysAhead])).toEqual([[expC, 10, 7]]);
    expect(Date.parse((exp[0]!.body.data as any).expiresAt) - Date.now()).toBeLessThan(7 * DAY);
    expect(ok('/lapsed').map((r) => [r.body.data.customerId, (r.body.data as any).to])).toEqual([[lapC, 'lapsed']]);
    // Never twice: one successful request per webhook id, on every endpoint.
    const ids = ok('/tier').concat(ok('/earned'), ok('/expiring'), ok('/lapsed')).map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
  }, 120_000);
});
