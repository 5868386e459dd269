import { Cairn } from './client';
import type { CairnOptions } from './types';
import { FakeServer, FakeStorage, ManualTimers, flushMicrotasks, until } from './testing/fakes';

const open: Cairn[] = [];
function tab(storage: FakeStorage, server: FakeServer, opts: Partial<CairnOptions> = {}): Cairn {
  const c = new Cairn({
    writeKey: 'wk',
    host: 'http://cairn.test',
    channel: 'web',
    browser: false,
    storage,
    fetch: server.fetch,
    heartbeatMs: 20,
    leaseMs: 200,
    claimSettleMs: 30,
    retryBaseMs: 1,
    retryMaxMs: 5,
    ...opts,
  });
  open.push(c);
  return c;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.closeAndFlush({ timeoutMs: 50 })));
});
const queueKeys = (s: FakeStorage): string[] => [...s.map.keys()].filter((k) => k.startsWith('cairn:q:'));

/** A tab frozen in time: its timers never run again, as if the tab was killed. */
async function deadTabWith(storage: FakeStorage, n: number): Promise<string[]> {
  const frozen = new ManualTimers(1_000); // its clock is long past: its lease has expired
  const offline = new FakeServer();
  offline.script = () => 'network-error';
  const dead = new Cairn({ writeKey: 'wk', host: 'http://cairn.test', channel: 'web', browser: false, storage, fetch: offline.fetch, timers: frozen, now: frozen.now, flushAt: 1000, leaseMs: 200 });
  const ids = Array.from({ length: n }, (_, i) => dead.view({ customerId: `c${i}`, productId: 'p' }));
  await flushMicrotasks(); // persisted
  return ids;
}

describe('cross-tab queue reclaim', () => {
  it('persists the queue per tab, and an empty queue leaves no key', async () => {
    const storage = new FakeStorage();
    const s = new FakeServer();
    const c = tab(storage, s, { flushAt: 1000 });
    c.view({ customerId: 'c', productId: 'p' });
    await flushMicrotasks();
    const [key] = queueKeys(storage);
    expect(JSON.parse(storage.getItem(key)!)).toEqual([{ e: expect.objectContaining({ customerId: 'c', type: 'view' }), a: 0 }]);
    await c.flush();
    await flushMicrotasks();
    expect(queueKeys(storage)).toEqual([]);
  });

  it("two live tabs racing for a dead tab's queue: every event is sent exactly once, nothing lost", async () => {
    const storage = new FakeStorage();
    const ids = await deadTabWith(storage, 25);
    expect(queueKeys(storage)).toHaveLength(1);
    const server = new FakeServer();
    const b = tab(storage, server);
    const c = tab(storage, server);
    await until(() => ids.every((id) => server.stored.has(id)));
    await new Promise((r) => setTimeout(r, 300)); // several more heartbeats: nobody re-claims anything
    const sent = server.sentIds();
    expect(sent.filter((id) => ids.includes(id)).sort()).toEqual([...ids].sort());
    expect(new Set(sent).size).toBe(sent.length);
    expect(b.stats().delivered + c.stats().delivered).toBe(25);
    expect(b.stats().delivered === 0 || c.stats().delivered === 0).toBe(true);
    expect(queueKeys(storage)).toEqual([]);
    expect([...storage.map.keys()].filter((k) => k.includes(':claim:'))).toEqual([]);
  });

  it("leaves a live tab's queue alone", async () => {
    const storage = new FakeStorage();
    const offline = new FakeServer();
    offline.script = () => 'network-error';
    const alive = tab(storage, offline, { flushAt: 1000, flushIntervalMs: 60_000 });
    alive.view({ customerId: 'c', productId: 'p' });
    const server = new FakeServer();
    tab(storage, server);
    await new Promise((r) => setTimeout(r, 150));
    expect(server.calls).toHaveLength(0);
    expect(alive.stats().queued).toBe(1);
  });

  it('a tab that was taken over (e.g. frozen in the background) forgets the events it had saved', async () => {
    const storage = new FakeStorage();
    const frozen = new ManualTimers(Date.now());
    const offline = new FakeServer();
    offline.script = () => 'network-error';
    const sleeper = tab(storage, offline, { timers: frozen, now: frozen.now, flushAt: 1000, leaseMs: 50 });
    const id = sleeper.view({ customerId: 'c', productId: 'p' });
    await flushMicrotasks();
    const server = new FakeServer();
    tab(storage, server);
    await until(() => server.stored.has(id));
    await frozen.advance(100); // the sleeper wakes up: its heartbeat notices the takeover
    expect(sleeper.stats().queued).toBe(0);
    expect(offline.calls).toHaveLength(0);
    expect(server.sentIds()).toEqual([id]);
  });

  it('does not take over more than fits in maxQueueSize (the events stay persisted)', async () => {
    const storage = new FakeStorage();
    await deadTabWith(storage, 10);
    const offline = new FakeServer();
    offline.script = () => 'hang';
    const b = tab(storage, offline, { maxQueueSize: 5, flushAt: 1000, flushIntervalMs: 60_000 });
    await new Promise((r) => setTimeout(r, 120));
    expect(b.stats().queued).toBe(0);
    expect(queueKeys(storage)).toHaveLength(1);
  });
});

describe('browser page hooks', () => {
  it('on pagehide sends the queue with keepalive, within the 64 KiB keepalive budget, and shortens the lease', async () => {
    const storage = new FakeStorage();
    const server = new FakeServer();
    server.script = () => 'hang';
    const win = new EventTarget() as EventTarget & { location: { href: string }; navigator: { userAgent: string; language: string } };
    win.location = { href: 'https://shop.test/p/1?utm_campaign=black-friday&utm_source=news' };
    win.navigator = { userAgent: 'TestAgent/1', language: 'de-DE' };
    const doc = Object.assign(new EventTarget(), { visibilityState: 'visible' as DocumentVisibilityState, referrer: 'https://search.test/' });
    const c = tab(storage, server, { browser: true, window: win as never, document: doc as never, flushAt: 10_000, flushIntervalMs: 60_000, timeoutMs: 60_000 });
    for (let i = 0; i < 400; i++) c.view({ productId: `p${i}`, context: { pad: 'x'.repeat(200) } });
    win.dispatchEvent(new Event('pagehide'));
    await flushMicrotasks();
    expect(server.calls.length).toBeGreaterThan(0);
    expect(server.calls.every((x) => x.keepalive)).toBe(true);
    expect(server.calls.reduce((n, x) => n + x.bytes, 0)).toBeLessThanOrEqual(65_536);
    const first = server.calls[0].events[0];
    expect(first.anonymousId).toBe(c.anonymousId());
    expect(first.channel).toBe('web');
    expect(first.occurredAt).toMatch(/[+-]\d{2}:\d{2}$/);
    expect(first.context).toMatchObject({
      pageUrl: 'https://shop.test/p/1?utm_campaign=black-friday&utm_source=news',
      pagePath: '/p/1',
      campaign: 'black-friday',
      utmSource: 'news',
      referrer: 'https://search.test/',
      userAgent: 'TestAgent/1',
      locale: 'de-DE',
      pad: 'x'.repeat(200),
    });
    const hb = [...storage.map.entries()].find(([k]) => k.startsWith('cairn:hb:'))!;
    expect(Number(hb[1]) - Date.now()).toBeLessThanOrEqual(3000);
    // everything, sent or not, is still persisted until settled
    expect(JSON.parse(storage.getItem(queueKeys(storage)[0])!)).toHaveLength(400);
  });

  it('persists the anonymous id and, after identify, the customer id', () => {
    const storage = new FakeStorage();
    const server = new FakeServer();
    const win = Object.assign(new EventTarget(), {});
    const doc = Object.assign(new EventTarget(), { visibilityState: 'visible' });
    const a = tab(storage, server, { browser: true, window: win as never, document: doc as never, autoContext: false });
    const anon = a.anonymousId()!;
    a.identify({ customerId: 'cust-1', traits: { email: 'a@b.test' } });
    const b = tab(storage, server, { browser: true, window: win as never, document: doc as never, autoContext: false });
    expect(b.anonymousId()).toBe(anon);
    b.view({ productId: 'p' });
    b.reset();
    expect(b.anonymousId()).not.toBe(anon);
  });
});
