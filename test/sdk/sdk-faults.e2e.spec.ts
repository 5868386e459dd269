/**
 * Fault injection: a misbehaving HTTP proxy (node:http, 127.0.0.1, port 0) in front of a real,
 * embedded Cairn drops connections (before and after Cairn stored the batch), answers 500/502,
 * 429 with Retry-After (seconds and HTTP-date), responds slowly (past the SDK's timeout, and
 * merely slow), and resets mid-body. After the storm every event the SDK reported delivered is in
 * Cairn's read model exactly once, every other event is reported dropped (never silently), and the
 * SDK's queue never exceeded maxQueueSize.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'http';
import type { AddressInfo } from 'net';
import { Cairn, type DeliveredReport, type DroppedReport, type RejectedReport, type WireEvent } from '@cairn/sdk';
import { startCairn, type TestCairn } from '../support/cairn';
import { getProfile, maxPosition, sleep } from './helpers';

const FAULTS = ['drop-before', 'drop-after', '500', '502-after', '429', '429-date', 'timeout', 'timeout-after', 'slow-ok', 'reset-mid-body'] as const;
type Fault = (typeof FAULTS)[number] | 'ok';
const SDK_TIMEOUT_MS = 400;

/** Deterministic PRNG (mulberry32) so a failing storm can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Proxy {
  url: string;
  counts: Record<Fault, number>;
  forwardedEvents: number;
  close(): Promise<void>;
}

async function startProxy(target: string, pick: () => Fault): Promise<Proxy> {
  const counts = Object.fromEntries([...FAULTS, 'ok'].map((f) => [f, 0])) as Record<Fault, number>;
  const proxy = { forwardedEvents: 0 };
  const forward = async (req: IncomingMessage, body: Buffer): Promise<{ status: number; text: string; headers: Record<string, string> }> => {
    const up = await fetch(`${target}${req.url}`, {
      method: req.method,
      headers: { authorization: String(req.headers.authorization ?? ''), 'content-type': String(req.headers['content-type'] ?? 'application/json') },
      body: body.toString("utf8"),
    });
    const text = await up.text();
    proxy.forwardedEvents += (JSON.parse(body.toString('utf8')) as { events: unknown[] }).events.length;
    const headers: Record<string, string> = { 'content-type': up.headers.get('content-type') ?? 'application/json' };
    const ra = up.headers.get('retry-after');
    if (ra) headers['retry-after'] = ra;
    return { status: up.status, text, headers };
  };
  const handle = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const fault = pick();
    counts[fault]++;
    const injected = (status: number, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify({ error: { code: 'CAIRN.UNAVAILABLE', message: `injected ${fault}` } }));
    };
    switch (fault) {
      case 'drop-before':
        return void req.socket.destroy();
      case '500':
        return injected(500);
      case '429':
        return injected(429, { 'retry-after': '1' });
      case '429-date':
        return injected(429, { 'retry-after': new Date(Date.now() + 1500).toUTCString() });
      case 'timeout':
        await sleep(SDK_TIMEOUT_MS + 200); // never forwarded; the client has given up
        return void req.socket.destroy();
      default:
        break;
    }
    const up = await forward(req, body); // from here on, Cairn has the batch
    switch (fault) {
      case 'drop-after':
        return void req.socket.destroy();
      case '502-after':
        return injected(502);
      case 'timeout-after':
        await sleep(SDK_TIMEOUT_MS + 200);
        break;
      case 'slow-ok':
        await sleep(SDK_TIMEOUT_MS / 2);
        break;
      case 'reset-mid-body':
        res.writeHead(up.status, { ...up.headers, 'content-length': String(Buffer.byteLength(up.text)) });
        res.write(up.text.slice(0, Math.floor(up.text.length / 2)));
        setTimeout(() => req.socket.destroy(), 20);
        return;
      default:
        break;
    }
    if (res.socket?.destroyed) return;
    res.writeHead(up.status, up.headers);
    res.end(up.text);
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch(() => req.socket.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(proxy, {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

let cairn: TestCairn;
beforeAll(async () => {
  cairn = await startCairn();
}, 60_000);
afterAll(async () => {
  await cairn?.close();
});

async function expectReadModel(customers: string[], delivered: DeliveredReport[]): Promise<void> {
  const expected = new Map(customers.map((c) => [c, { views: 0, orders: 0, reviews: 0, referralsMade: 0 }]));
  for (const { event } of delivered) {
    const e = event as WireEvent;
    const row = expected.get(e.customerId!)!;
    if (e.type === 'view') row.views++;
    else if (e.type === 'purchase') row.orders++;
    else if (e.type === 'review') row.reviews++;
    else if (e.type === 'referral') row.referralsMade++;
  }
  const position = maxPosition(delivered);
  for (const c of customers) {
    const p = await getProfile(cairn.url, cairn.adminKey, c, position);
    const want = expected.get(c)!;
    const got = p ? { views: p.views, orders: p.orders, reviews: p.reviews, referralsMade: p.referralsMade } : { views: 0, orders: 0, reviews: 0, referralsMade: 0 };
    expect({ customer: c, ...got }).toEqual({ customer: c, ...want });
  }
}

it('under a storm of faults, every event is delivered and in the read model exactly once; memory stays bounded', async () => {
  const seed = Number(process.env.CAIRN_FAULT_SEED ?? 20261128);
  const random = rng(seed);
  let requests = 0;
  // The first requests go through every fault once; then about half the requests misbehave.
  const pick = (): Fault => {
    const n = requests++;
    if (n < FAULTS.length * 2) return n % 2 === 0 ? FAULTS[n / 2] : 'ok';
    return random() < 0.5 ? FAULTS[Math.floor(random() * FAULTS.length)] : 'ok';
  };
  const proxy = await startProxy(cairn.url, pick);
  const MAX_QUEUE = 2000;
  const sdk = new Cairn({
    writeKey: cairn.adminKey,
    host: proxy.url,
    channel: 'web',
    flushAt: 10,
    flushIntervalMs: 50,
    maxBatchEvents: 25,
    maxQueueSize: MAX_QUEUE,
    maxRetries: 40,
    timeoutMs: SDK_TIMEOUT_MS,
    retryBaseMs: 20,
    retryMaxMs: 250,
    maxRetryAfterMs: 2000,
  });
  const delivered: DeliveredReport[] = [];
  const dropped: DroppedReport[] = [];
  const rejected: RejectedReport[] = [];
  sdk.on('delivered', (r) => delivered.push(r));
  sdk.on('dropped', (r) => dropped.push(r));
  sdk.on('rejected', (r) => rejected.push(r));
  let maxHeld = 0;
  const sampler = setInterval(() => {
    const s = sdk.stats();
    maxHeld = Math.max(maxHeld, s.queued + s.inFlight);
  }, 2);

  // The workload: views, purchases, reviews and referrals for 12 customers, sent in bursts.
  const run = `storm-${Date.now()}`;
  const customers = Array.from({ length: 12 }, (_, i) => `${run}-c${i}`);
  const sent: string[] = [];
  const TOTAL = 1200;
  for (let i = 0; i < TOTAL; i++) {
    const customerId = customers[i % customers.length];
    const kind = i % 10;
    if (kind < 6) sent.push(sdk.view({ customerId, productId: `p${i % 37}` }));
    else if (kind < 8) sent.push(sdk.purchase({ customerId, orderId: `${run}-o${i}`, currency: 'USD', items: [{ productId: `p${i % 37}`, quantity: 1 + (i % 3), unitPriceMinor: 1999 }], totalMinor: 1999 * (1 + (i % 3)) }));
    else if (kind < 9) sent.push(sdk.review({ customerId, productId: `p${i}`, rating: 1 + (i % 5) }));
    else sent.push(sdk.referral({ customerId, referralCode: `${run}-r${i}`, refereeId: `${run}-f${i}` }));
    if (i % 30 === 29) await sleep(20);
  }
  const stats = await sdk.closeAndFlush({ timeoutMs: 120_000 });
  clearInterval(sampler);
  await proxy.close();

  const figures = {
    seed,
    sent: sent.length,
    delivered: stats.delivered,
    duplicates: stats.duplicates,
    dropped: stats.dropped,
    rejected: stats.rejected,
    retries: stats.retries,
    requests,
    eventsForwardedToCairn: proxy.forwardedEvents,
    peakQueued: stats.peakQueued,
    maxQueueSize: MAX_QUEUE,
    faults: proxy.counts,
  };
  console.log(`SDK under faults: ${JSON.stringify(figures, null, 2)}`);

  // Every event ended in exactly one report; nothing is still pending.
  expect(rejected).toEqual([]);
  expect(stats).toMatchObject({ queued: 0, inFlight: 0 });
  const reported = [...delivered.map((d) => d.event.id), ...dropped.map((d) => d.event.id)];
  expect(reported.sort()).toEqual([...sent].sort());
  expect(dropped).toEqual([]);
  expect(stats.delivered).toBe(TOTAL);
  // Bounded memory.
  expect(maxHeld).toBeLessThanOrEqual(MAX_QUEUE);
  expect(stats.peakQueued).toBeLessThanOrEqual(MAX_QUEUE);
  // Every kind of fault happened, and some re-sends were answered `duplicate`.
  for (const f of FAULTS) expect(proxy.counts[f]).toBeGreaterThan(0);
  expect(stats.duplicates).toBeGreaterThan(0);

  // The read model holds each delivered event exactly once.
  await expectReadModel(customers, delivered);
}, 180_000);

it('when Cairn is unreachable the queue stops at maxQueueSize: the excess is reported dropped, the rest delivered once on recovery', async () => {
  let down = true;
  const proxy = await startProxy(cairn.url, () => (down ? 'drop-before' : 'ok'));
  const MAX_QUEUE = 100;
  const sdk = new Cairn({ writeKey: cairn.adminKey, host: proxy.url, channel: 'app', flushAt: 10, maxQueueSize: MAX_QUEUE, maxRetries: 100, timeoutMs: SDK_TIMEOUT_MS, retryBaseMs: 20, retryMaxMs: 100 });
  const delivered: DeliveredReport[] = [];
  const dropped: DroppedReport[] = [];
  sdk.on('delivered', (r) => delivered.push(r));
  sdk.on('dropped', (r) => dropped.push(r));
  const run = `outage-${Date.now()}`;
  const customers = [`${run}-a`, `${run}-b`];
  const sent: string[] = [];
  for (let i = 0; i < 300; i++) {
    sent.push(sdk.view({ customerId: customers[i % 2], productId: `p${i}` }));
    if (i % 50 === 49) await sleep(30);
  }
  expect(sdk.stats().queued + sdk.stats().inFlight).toBe(MAX_QUEUE);
  down = false;
  const stats = await sdk.closeAndFlush({ timeoutMs: 30_000 });
  await proxy.close();
  console.log(`SDK during an outage: ${JSON.stringify({ sent: sent.length, delivered: stats.delivered, duplicates: stats.duplicates, dropped: stats.dropped, retries: stats.retries, peakQueued: stats.peakQueued, maxQueueSize: MAX_QUEUE })}`);
  expect(stats).toMatchObject({ delivered: MAX_QUEUE, dropped: 300 - MAX_QUEUE, queued: 0, inFlight: 0, peakQueued: MAX_QUEUE });
  expect(new Set(dropped.map((d) => d.reason))).toEqual(new Set(['queue-full']));
  expect([...delivered.map((d) => d.event.id), ...dropped.map((d) => d.event.id)].sort()).toEqual([...sent].sort());
  await expectReadModel(customers, delivered);
}, 60_000);
