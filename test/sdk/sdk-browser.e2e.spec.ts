/**
 * The SDK's browser build (tsc ESM, loaded as-is by <script type="module">) in Debian's headless
 * Chromium, driven by playwright-core: events sent just before navigating away arrive (pagehide →
 * fetch keepalive), with page context; a tab closed while Cairn is down leaves its queue in
 * localStorage and the next tab takes it over and delivers it exactly once.
 */
import { execFileSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { createServer, type Server } from 'http';
import type { AddressInfo } from 'net';
import { tmpdir } from 'os';
import { join, normalize, resolve } from 'path';
import { chromium, type Browser } from 'playwright-core';
import { startCairn, type TestCairn } from '../support/cairn';
import { getProfile, sleep } from './helpers';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let cairn: TestCairn;
let browser: Browser;
let site: Server;
let origin: string;
let buildDir: string;
/** What the site's /v1 proxy forwarded: request bodies, for context checks. */
const forwarded: Array<{ events: Array<Record<string, unknown>> }> = [];
/** When true the site answers /v1/events with 503 (Cairn "down"). */
let cairnDown = false;

const page = (script: string): string => `<!doctype html><html><head><meta charset="utf-8"><title>shop</title></head><body>
<script type="module">
import { Cairn } from '/sdk/index.js';
${script}
</script></body></html>`;

const PAGES: Record<string, (key: string) => string> = {
  '/product': (key) =>
    page(`window.cairn = new Cairn({ writeKey: ${JSON.stringify(key)}, host: location.origin, flushAt: 1000, flushIntervalMs: 600000, unloadGraceMs: 300 });
window.cairnReady = true;`),
  '/tab': (key) =>
    page(`window.cairn = new Cairn({ writeKey: ${JSON.stringify(key)}, host: location.origin, flushAt: 1000, flushIntervalMs: 200, heartbeatMs: 100, leaseMs: 2000, unloadGraceMs: 300, claimSettleMs: 50, retryBaseMs: 50, retryMaxMs: 200 });
window.delivered = [];
window.cairn.on('delivered', (d) => window.delivered.push(d.event.id));
window.cairnReady = true;`),
  '/bye': () => '<!doctype html><html><body>bye</body></html>',
};

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (see .ci/run)`);
  cairn = await startCairn();
  buildDir = mkdtempSync(join(tmpdir(), 'cairn-sdk-browser-'));
  execFileSync(process.execPath, [resolve(__dirname, '../../libs/sdk/scripts/build.mjs'), '--out', buildDir], { stdio: 'pipe' });
  const esm = join(buildDir, 'esm');
  site = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/sdk/')) {
      const file = normalize(join(esm, url.pathname.slice(5)));
      if (!file.startsWith(esm) || !existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/javascript' });
      return void res.end(readFileSync(file));
    }
    if (url.pathname.startsWith('/v1/')) {
      // Same-origin proxy to Cairn (the API serves no CORS headers).
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (cairnDown) return void res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"code":"CAIRN.UNAVAILABLE","message":"down"}}');
        forwarded.push(JSON.parse(body));
        const up = await fetch(`${cairn.url}${req.url}`, { method: req.method, headers: { authorization: String(req.headers.authorization), 'content-type': 'application/json' }, body });
        res.writeHead(up.status, { 'content-type': 'application/json' });
        res.end(await up.text());
      });
      return;
    }
    const render = PAGES[url.pathname];
    if (!render) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(render(cairn.adminKey));
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  site?.closeAllConnections();
  await new Promise((r) => site?.close(r));
  await cairn?.close();
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
});

async function waitForProfile(customerId: string, want: (p: Record<string, unknown>) => boolean, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  const start = Date.now();
  for (;;) {
    const p = await getProfile(cairn.url, cairn.adminKey, customerId);
    if (p && want(p)) return p;
    if (Date.now() - start > timeoutMs) throw new Error(`profile ${customerId}: ${JSON.stringify(p)}`);
    await sleep(100);
  }
}

it('events sent just before navigating away arrive, with anonymous id, identity and page context', async () => {
  const context = await browser.newContext({ locale: 'de-DE', timezoneId: 'Europe/Berlin' });
  const tab = await context.newPage();
  await tab.goto(`${origin}/product?utm_campaign=black-friday&utm_source=newsletter`, { referer: 'https://search.example/' });
  await tab.waitForFunction(() => (window as unknown as { cairnReady?: boolean }).cairnReady === true);
  const customerId = `browser-${Date.now()}`;
  const ids = await tab.evaluate((cust) => {
    const c = (window as unknown as { cairn: import('@cairn/sdk').Cairn }).cairn;
    const out = [
      c.view({ productId: 'shoe-1', priceMinor: 5000, currency: 'USD' }),
      c.identify({ customerId: cust, traits: { email: 'ada@example.com' } }),
      c.view({ productId: 'shoe-1' }),
      c.view({ productId: 'shoe-2' }),
      c.purchase({ orderId: `${cust}-o1`, currency: 'USD', items: [{ productId: 'shoe-1', quantity: 1, unitPriceMinor: 5000 }], totalMinor: 5000 }),
    ];
    setTimeout(() => (location.href = '/bye'), 0); // navigate away at once: no flush timer will ever fire here
    return out;
  }, customerId);
  await tab.waitForURL(`${origin}/bye`);
  // Three views: the one before identify (anonymous) belongs to the customer once linked (retroactive identity).
  const profile = await waitForProfile(customerId, (p) => p.views === 3 && p.orders === 1);
  expect(profile).toMatchObject({ views: 3, orders: 1, grossMinor: 5000 });
  const sent = forwarded.flatMap((b) => b.events).filter((e) => ids.includes(e.id as string));
  expect(sent.map((e) => e.id).sort()).toEqual([...ids].sort());
  const [first, identify, afterIdentify] = ids.map((id) => sent.find((e) => e.id === id)!);
  expect(first.customerId).toBeUndefined();
  expect(first.anonymousId).toEqual(identify.anonymousId);
  expect(afterIdentify).toMatchObject({ customerId, anonymousId: identify.anonymousId, channel: 'web' });
  expect(first.occurredAt).toMatch(/\+0[12]:00$/); // Berlin: CET or CEST
  expect(first.context).toMatchObject({
    pagePath: '/product',
    campaign: 'black-friday',
    utmSource: 'newsletter',
    referrer: 'https://search.example/',
    locale: 'de-DE',
    timezone: 'Europe/Berlin',
    userAgent: expect.stringContaining('Chrome'),
  });
  await context.close();
}, 60_000);

it("a tab closed while Cairn is down leaves its queue; the next tab takes it over and it is delivered exactly once", async () => {
  const context = await browser.newContext();
  const a = await context.newPage();
  await a.goto(`${origin}/tab`);
  await a.waitForFunction(() => (window as unknown as { cairnReady?: boolean }).cairnReady === true);
  const customerId = `tabs-${Date.now()}`;
  cairnDown = true;
  const ids = await a.evaluate((cust) => {
    const c = (window as unknown as { cairn: import('@cairn/sdk').Cairn }).cairn;
    return [1, 2, 3, 4, 5, 6].map((i) => c.view({ customerId: cust, productId: `p${i}` }));
  }, customerId);
  await sleep(500); // a few failed sends (503) and retries
  const persisted = await a.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('cairn:q:')).length);
  expect(persisted).toBe(1);
  await a.close({ runBeforeUnload: true }); // pagehide: a last keepalive attempt, which also fails
  await sleep(700); // the browser may still be sending that keepalive request after close() resolves
  cairnDown = false;
  const b = await context.newPage();
  await b.goto(`${origin}/tab`);
  await b.waitForFunction(() => (window as unknown as { cairnReady?: boolean }).cairnReady === true);
  const profile = await waitForProfile(customerId, (p) => p.views === 6);
  const deliveredByB = await b.evaluate(() => (window as unknown as { delivered: string[] }).delivered);
  expect([...deliveredByB].sort()).toEqual([...ids].sort());
  await sleep(1000); // more heartbeats: nothing is taken over or sent twice
  expect((await getProfile(cairn.url, cairn.adminKey, customerId))!.views).toBe(6);
  expect(profile.views).toBe(6);
  const sentIds = forwarded.flatMap((f) => f.events.map((e) => e.id as string)).filter((id) => ids.includes(id));
  expect(sentIds.sort()).toEqual([...ids].sort()); // forwarded to Cairn once each: no duplicate sends
  expect(await b.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('cairn:q:')).length)).toBe(0);
  await context.close();
}, 60_000);
