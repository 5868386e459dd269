import { randomUUID } from 'crypto';
import { FORWARDS } from '@eventstore/db-client';
import { startCairn, type TestCairn } from '../../../../test/support/cairn';

// Background work runs in the API (cairn api, CAIRN_PROJECTOR_THREAD=off) or in the projector thread (cairn start).
describe.each([['in the API', false], ['in the projector thread', true]])('rule-based segments over HTTP, evaluated %s', (_where, projectorThread) => {
  let cairn: TestCairn;
  const auth = () => ({ authorization: `Bearer ${cairn.adminKey}`, 'content-type': 'application/json' });
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${cairn.url}${path}`, { method, headers: { ...auth(), ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, body: text.startsWith('{') ? JSON.parse(text) : undefined };
  };
  const until = async <T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (ok(v) || Date.now() > deadline) return v;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const members = async (id: string) => ((await call('GET', `/v1/segments/${id}/members?limit=1000`)).body.items as { customerId: string }[]).map((m) => m.customerId).sort();
  const streamTypes = async (id: string) => {
    const out: [string, string][] = [];
    try {
      for await (const r of cairn.process.runtime.events.client.readStream(`segment-members-${id}`, { direction: FORWARDS })) {
        out.push([r.event!.type, (r.event!.data as { customerId: string }).customerId]);
      }
    } catch {
      // no stream yet
    }
    return out;
  };

  beforeAll(async () => {
    cairn = await startCairn({ env: { CAIRN_SEGMENT_INTERVAL_MS: '1000', CAIRN_SEGMENT_POLL_MS: '100' }, projectorThread });
  }, 60_000);
  afterAll(async () => {
    await cairn?.close();
  });

  it('rejects an invalid definition with 400 naming the path', async () => {
    const res = await call('POST', '/v1/segments', { name: 'x', condition: { all: [{ field: 'orders', op: '>=', value: 1 }, { count: { type: 'purchase', withinDays: 9999 }, op: '>=', value: 1 }] } });
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toEqual([{ field: 'condition.all[1].count.withinDays', message: expect.any(String) }]);
    expect((await call('POST', '/v1/segments', { condition: { field: 'orders', op: '>=', value: 1 } })).body.error.fields[0].field).toBe('name');
  });

  it('evaluates on each event, as time passes, on redefinition and deletion; every change lands in the segment stream', async () => {
    const [buyer, browser] = [`s-${randomUUID()}`, `s-${randomUUID()}`];
    const now = Date.now();
    // A view made 1 day minus 8 s ago: inside "viewed in the last day" for 8 more seconds.
    const ingest = await call('POST', '/v1/events', {
      events: [
        { type: 'view', customerId: browser, occurredAt: new Date(now - 86_400_000 + 8000).toISOString(), channel: 'web', productId: 'p', category: 'shoes' },
        { type: 'view', customerId: buyer, occurredAt: new Date(now - 3_600_000).toISOString(), channel: 'web', productId: 'p', category: 'hats' },
      ],
    });
    expect(ingest.status).toBe(202);
    const created = await call('POST', '/v1/segments', {
      name: 'Recent shoe browsers who never bought',
      condition: { all: [{ count: { type: 'view', withinDays: 1, category: 'shoes' }, op: '>=', value: 1 }, { field: 'orders', op: '=', value: 0 }] },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(created.body).toMatchObject({ version: 1, name: 'Recent shoe browsers who never bought' });
    expect(await until(() => members(id), (m) => m.length === 1)).toEqual([browser]);

    // Time passes: the view leaves the 1-day window and the browser exits without any new event.
    expect(await until(() => members(id), (m) => m.length === 0, 20_000)).toEqual([]);

    // Redefine: any order count 0 and viewed hats or shoes within 2 days.
    const v2 = await call('PUT', `/v1/segments/${id}`, {
      name: 'Browsers',
      condition: { all: [{ field: 'orders', op: '=', value: 0 }, { field: 'viewedCategories', op: 'in', value: ['hats', 'shoes'] }, { count: { type: 'view', withinDays: 2 }, op: '>=', value: 1 }] },
    });
    expect(v2.body.version).toBe(2);
    expect(await until(() => members(id), (m) => m.length === 2)).toEqual([buyer, browser].sort());

    // An event: the buyer buys and exits.
    await call('POST', '/v1/events', {
      type: 'purchase', customerId: buyer, occurredAt: new Date().toISOString(), channel: 'web', orderId: `o-${randomUUID()}`, currency: 'USD',
      items: [{ productId: 'p', quantity: 1, unitPriceMinor: 100 }], totalMinor: 100,
    });
    expect(await until(() => members(id), (m) => m.length === 1)).toEqual([browser]);

    // Sizes over time, from the membership history (published or still in the outbox): 3 entries, 2 exits, 1 member.
    const sizes = await call('GET', `/v1/segments/${id}/sizes?period=day`);
    expect(sizes.status).toBe(200);
    expect(sizes.body).toMatchObject({ segmentId: id, period: 'day', timezone: 'UTC', members: 1 });
    const points = sizes.body.points as { period: string; entries: number; exits: number; size: number }[];
    expect(points.length).toBeGreaterThanOrEqual(1);
    expect(points.reduce((n, p) => n + p.entries, 0)).toBe(3);
    expect(points.reduce((n, p) => n + p.exits, 0)).toBe(2);
    expect(points[points.length - 1]!.size).toBe(1);
    expect(points[points.length - 1]!.period).toBe(new Date().toISOString().slice(0, 10));
    const monthly = await call('GET', `/v1/segments/${id}/sizes?period=month&from=2026-01-01`);
    expect(monthly.body.points[0]).toMatchObject({ period: '2026-01', entries: 0, exits: 0, size: 0 });
    expect(monthly.body.points[monthly.body.points.length - 1].size).toBe(1);
    expect((await call('GET', `/v1/segments/${id}/sizes?period=year`)).body.error.fields).toEqual([{ field: 'period', message: 'must be one of day, week, month' }]);
    expect((await call('GET', `/v1/segments/${id}/sizes?from=2026-02-30`)).body.error.fields[0].field).toBe('from');
    expect((await call('GET', `/v1/segments/${id}/sizes?from=2000-01-01`)).body.error.fields[0].field).toBe('period');
    expect((await call('GET', `/v1/segments/${randomUUID()}/sizes`)).status).toBe(404);

    const csv = await call('GET', `/v1/segments/${id}/members`, undefined, { accept: 'text/csv' });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.text.split('\r\n')[0]).toBe('customer_id,since');
    expect(csv.text).toContain(`${browser},`);

    const removed = await call('DELETE', `/v1/segments/${id}`);
    expect(removed.body).toMatchObject({ deleted: true, exited: 1 });
    expect((await call('GET', `/v1/segments/${id}`)).status).toBe(404);

    const stream = await until(() => streamTypes(id), (s) => s.length >= 6);
    expect(stream).toEqual([
      ['cairn.segment.entered.v1', browser],
      ['cairn.segment.exited.v1', browser],
      ...[buyer, browser].sort().map((c): [string, string] => ['cairn.segment.entered.v1', c]),
      ['cairn.segment.exited.v1', buyer],
      ['cairn.segment.exited.v1', browser],
    ]);
  }, 40_000);
});
