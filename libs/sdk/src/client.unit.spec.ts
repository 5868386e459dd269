import { Cairn } from './client';
import type { CairnOptions, DroppedReport, RejectedReport, RetryReport, Timers } from './types';
import { FakeServer, flushMicrotasks, json, until } from './testing/fakes';

const open: Cairn[] = [];
function make(server: FakeServer, opts: Partial<CairnOptions> = {}): Cairn {
  const c = new Cairn({ writeKey: 'wk_test', host: 'http://cairn.test/', channel: 'web', browser: false, fetch: server.fetch, retryBaseMs: 1, retryMaxMs: 5, ...opts });
  open.push(c);
  return c;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.closeAndFlush({ timeoutMs: 50 })));
});
const view = (c: Cairn, i = 0, extra: object = {}): string => c.view({ customerId: `c${i}`, productId: `p${i}`, ...extra });

describe('batching', () => {
  it('sends when flushAt events are queued, in batches of at most maxBatchEvents, in order', async () => {
    const s = new FakeServer();
    const c = make(s, { flushAt: 5, maxBatchEvents: 3, flushIntervalMs: 60_000 });
    const ids = [0, 1, 2, 3].map((i) => view(c, i));
    await flushMicrotasks();
    expect(s.calls).toHaveLength(0);
    ids.push(view(c, 4), view(c, 5), view(c, 6));
    await c.flush();
    expect(s.calls.map((x) => x.events.length)).toEqual([3, 3, 1]);
    expect(s.sentIds()).toEqual(ids);
    expect(s.calls[0].url).toBe('http://cairn.test/v1/events');
    expect(s.calls[0].headers.authorization).toBe('Bearer wk_test');
    expect(c.stats()).toMatchObject({ queued: 0, inFlight: 0, delivered: 7, duplicates: 0 });
  });

  it('keeps every request within maxBatchBytes', async () => {
    const s = new FakeServer();
    const c = make(s, { flushAt: 1000, maxBatchBytes: 2000 });
    for (let i = 0; i < 30; i++) view(c, i, { context: { note: 'x'.repeat(300) } });
    await c.flush();
    expect(s.calls.length).toBeGreaterThan(5);
    for (const call of s.calls) expect(call.bytes).toBeLessThanOrEqual(2000);
    expect(s.sentIds()).toHaveLength(30);
  });

  it('sends on the flush interval', async () => {
    const s = new FakeServer();
    const c = make(s, { flushAt: 100, flushIntervalMs: 20 });
    view(c);
    await until(() => s.calls.length === 1);
    expect(c.stats().delivered).toBe(1);
  });

  it('reports an event bigger than a request can carry as rejected, at once, without throwing', () => {
    const c = make(new FakeServer(), { maxBatchBytes: 1000 });
    const reasons: string[] = [];
    c.on('rejected', (r) => reasons.push(r.reason));
    expect(() => view(c, 0, { context: { a: 'x'.repeat(600), b: 'x'.repeat(600) } })).not.toThrow();
    expect(reasons).toEqual([expect.stringMatching(/^event: is \d+ bytes/)]);
    expect(c.stats().rejected).toBe(1);
  });

  it('an invalid event never throws and never holds back the events queued before it', async () => {
    const s = new FakeServer();
    const c = make(s, { flushAt: 100 });
    const rejected: string[] = [];
    c.on('rejected', (r) => rejected.push(r.event.id));
    view(c, 0);
    const bad = c.view({ productId: 'p' } as never);
    view(c, 1);
    await c.closeAndFlush({ timeoutMs: 1000 });
    expect(rejected).toEqual([bad]);
    expect(s.stored.size).toBe(2);
    expect(c.stats()).toMatchObject({ delivered: 2, rejected: 1 });
  });
});

describe('bounded queue', () => {
  it('refuses events beyond maxQueueSize with a dropped report and a counter', async () => {
    const s = new FakeServer();
    s.script = () => 'hang';
    const c = make(s, { flushAt: 1000, maxQueueSize: 5, timeoutMs: 60_000 });
    const dropped: DroppedReport[] = [];
    c.on('dropped', (d) => dropped.push(d));
    const ids = Array.from({ length: 8 }, (_, i) => view(c, i));
    expect(c.stats()).toMatchObject({ queued: 5, dropped: 3, peakQueued: 5 });
    expect(dropped.map((d) => d.event.id)).toEqual(ids.slice(5));
    expect(dropped.every((d) => d.reason === 'queue-full')).toBe(true);
    void c.flush(); // 5 in flight now: still full
    await flushMicrotasks();
    expect(c.stats()).toMatchObject({ queued: 0, inFlight: 5 });
    view(c, 9);
    expect(c.stats().dropped).toBe(4);
  });
});

describe('server answers', () => {
  it('halves the batch on 413 until it fits and reports a lone oversize event as rejected', async () => {
    const s = new FakeServer();
    s.script = (call) => (call.events.length > 2 || call.events.some((e) => e.type === 'view' && e.productId === 'huge') ? json(413, { error: { code: 'CAIRN.PAYLOAD_TOO_LARGE', message: 'too large' } }) : undefined);
    const c = make(s, { flushAt: 1000 });
    const rejected: RejectedReport[] = [];
    c.on('rejected', (r) => rejected.push(r));
    const ids = Array.from({ length: 8 }, (_, i) => view(c, i));
    await c.flush();
    expect(s.calls.map((x) => x.events.length)).toEqual([8, 4, 2, 2, 2, 2]);
    expect([...s.stored.keys()]).toEqual(ids);
    const huge = c.view({ customerId: 'c', productId: 'huge' });
    await c.flush();
    expect(rejected.map((r) => [r.event.id, /too large/.test(r.reason)])).toEqual([[huge, true]]);
    expect(c.stats()).toMatchObject({ delivered: 8, rejected: 1, dropped: 0, retries: 0 });
  });

  it('reports per-event rejections with their field errors and does not retry them; duplicates count as delivered', async () => {
    const s = new FakeServer();
    s.script = (call, n) =>
      n === 0
        ? json(202, {
            results: [
              { index: 0, id: call.events[0].id, status: 'accepted' },
              { index: 1, id: call.events[1].id, status: 'rejected', errors: [{ field: 'productId', message: 'unknown product' }] },
              { index: 2, id: call.events[2].id, status: 'duplicate' },
            ],
            position: { commit: '1', prepare: '1' },
          })
        : undefined;
    const c = make(s, { flushAt: 1000 });
    const rejected: RejectedReport[] = [];
    const delivered: string[] = [];
    c.on('rejected', (r) => rejected.push(r));
    c.on('delivered', (d) => delivered.push(d.status));
    const ids = [view(c, 0), view(c, 1), view(c, 2)];
    await c.flush();
    expect(s.calls).toHaveLength(1);
    expect(rejected).toEqual([{ event: expect.objectContaining({ id: ids[1] }), reason: 'productId: unknown product', errors: [{ field: 'productId', message: 'unknown product' }] }]);
    expect(delivered).toEqual(['accepted', 'duplicate']);
    expect(c.stats()).toMatchObject({ delivered: 2, duplicates: 1, rejected: 1, retries: 0 });
  });

  it('retries 5xx, network errors and timeouts with backoff, then delivers', async () => {
    const s = new FakeServer();
    s.script = (_call, n) => (n === 0 ? json(503, { error: { code: 'CAIRN.UNAVAILABLE', message: 'busy' } }) : n === 1 ? 'network-error' : n === 2 ? 'hang' : undefined);
    const c = make(s, { flushAt: 1000, timeoutMs: 50 });
    const retries: RetryReport[] = [];
    c.on('retry', (r) => retries.push(r));
    const id = view(c);
    await c.flush();
    expect(s.calls.map((x) => x.events[0].id)).toEqual([id, id, id, id]);
    expect(retries.map((r) => r.reason)).toEqual(['HTTP 503 CAIRN.UNAVAILABLE: busy', 'network error: fetch failed', 'timeout after 50 ms']);
    expect(retries.map((r) => r.failures)).toEqual([1, 2, 3]);
    expect(c.stats()).toMatchObject({ delivered: 1, retries: 3, dropped: 0 });
  });

  it('honours Retry-After on 429', async () => {
    const s = new FakeServer();
    s.script = (_c, n) => (n === 0 ? json(429, { error: { code: 'CAIRN.UNAVAILABLE', message: 'slow down' } }, { 'retry-after': '1' }) : undefined);
    const c = make(s, { flushAt: 1000 });
    const retries: RetryReport[] = [];
    c.on('retry', (r) => retries.push(r));
    view(c);
    await c.flush();
    expect(retries[0].delayMs).toBe(1000);
    expect(s.calls[1].at - s.calls[0].at).toBeGreaterThanOrEqual(950);
  });

  it('never retries other 4xx: reports dropped (401/403) or rejected (400) and an error', async () => {
    const s = new FakeServer();
    s.script = (_c, n) => (n === 0 ? json(401, { error: { code: 'CAIRN.UNAUTHENTICATED', message: 'bad key' } }) : json(400, { error: { code: 'CAIRN.MALFORMED_JSON', message: 'bad body' } }));
    const c = make(s, { flushAt: 1000 });
    const dropped: DroppedReport[] = [];
    const errors: Error[] = [];
    c.on('dropped', (d) => dropped.push(d));
    c.on('error', (e) => errors.push(e));
    view(c);
    await c.flush();
    view(c);
    await c.flush();
    expect(s.calls).toHaveLength(2);
    expect(dropped.map((d) => [d.reason, d.detail])).toEqual([['not-retryable', 'HTTP 401 CAIRN.UNAUTHENTICATED: bad key']]);
    expect(errors.map((e) => (e as { status?: number }).status)).toEqual([401, 400]);
    expect(c.stats()).toMatchObject({ dropped: 1, rejected: 1, retries: 0 });
  });

  it('reports dropped after maxRetries, with the reason', async () => {
    const s = new FakeServer();
    s.script = () => json(500, { error: { code: 'CAIRN.X', message: 'boom' } });
    const c = make(s, { flushAt: 1000, maxRetries: 3 });
    const dropped: DroppedReport[] = [];
    c.on('dropped', (d) => dropped.push(d));
    const id = view(c);
    await c.flush();
    expect(s.calls).toHaveLength(4);
    expect(dropped).toEqual([{ event: expect.objectContaining({ id }), reason: 'max-retries', detail: 'gave up after 3 retries; last: HTTP 500 CAIRN.X: boom' }]);
    expect(c.stats()).toMatchObject({ dropped: 1, delivered: 0, retries: 4 });
  });
});

describe('flush, closeAndFlush and timers', () => {
  it('closeAndFlush waits for queued and in-flight events', async () => {
    const s = new FakeServer();
    s.script = (call) => new Promise<Response>((r) => setTimeout(() => r(s.accept(call)), 100)) as never;
    const origFetch = s.fetch;
    const c = make(s, { flushAt: 2, fetch: (u, i) => origFetch(u, i).then((x) => x) });
    view(c, 0);
    view(c, 1); // in flight now
    view(c, 2); // queued
    await flushMicrotasks();
    expect(c.stats().inFlight).toBe(2);
    const stats = await c.closeAndFlush({ timeoutMs: 5000 });
    expect(stats).toMatchObject({ queued: 0, inFlight: 0, delivered: 3 });
  });

  it('closeAndFlush reports what it could not deliver in time as dropped, and refuses new events', async () => {
    const s = new FakeServer();
    s.script = () => 'hang';
    const c = make(s, { flushAt: 1000, timeoutMs: 60_000 });
    const dropped: DroppedReport[] = [];
    c.on('dropped', (d) => dropped.push(d));
    view(c, 0);
    view(c, 1);
    const stats = await c.closeAndFlush({ timeoutMs: 50 });
    expect(stats).toMatchObject({ queued: 0, inFlight: 0, dropped: 2 });
    expect(dropped.map((d) => d.reason)).toEqual(['shutdown-timeout', 'shutdown-timeout']);
    view(c, 2);
    expect(dropped[2].reason).toBe('closed');
  });

  it("unref()s every timer it starts, except closeAndFlush's own deadline", async () => {
    const handles: NodeJS.Timeout[] = [];
    const timers: Timers = {
      setTimeout: (fn, ms) => {
        const h = setTimeout(fn, ms);
        handles.push(h);
        return h;
      },
      clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    };
    const s = new FakeServer();
    s.script = (_c, n) => (n === 0 ? json(503, {}) : undefined);
    const { FakeStorage } = await import('./testing/fakes');
    const c = make(s, { flushAt: 1000, flushIntervalMs: 10, timers, retryBaseMs: 20, storage: new FakeStorage(), heartbeatMs: 10 });
    view(c);
    await until(() => s.calls.length === 2);
    expect(handles.length).toBeGreaterThanOrEqual(4); // flush interval, request timeout, backoff, heartbeat
    expect(handles.filter((h) => h.hasRef())).toEqual([]);
    const closing = c.closeAndFlush({ timeoutMs: 1000 });
    expect(handles.filter((h) => h.hasRef())).toHaveLength(1);
    await closing;
  });
});
