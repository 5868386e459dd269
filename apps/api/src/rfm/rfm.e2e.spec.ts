import { randomUUID } from 'crypto';
import { startCairn, type TestCairn } from '../../../../test/support/cairn';

// The daily schedule runs in the API (CAIRN_PROJECTOR_THREAD=off) or in the projector thread (cairn start).
describe.each([['in the API', false], ['in the projector thread', true]])('RFM over HTTP, scheduled %s', (_where, projectorThread) => {
  let cairn: TestCairn;
  const auth = () => ({ authorization: `Bearer ${cairn.adminKey}`, 'content-type': 'application/json' });
  const get = async (path: string) => {
    const res = await fetch(`${cairn.url}${path}`, { headers: auth() });
    return { status: res.status, body: await res.json() };
  };

  beforeAll(async () => {
    cairn = await startCairn({ projectorThread });
  }, 60_000);
  afterAll(async () => {
    await cairn?.close();
  });

  it('runs the daily schedule at boot, recomputes on demand, serves the grid, segments and history', async () => {
    // The scheduler made today's run at boot (empty: no orders yet).
    let boot = await get('/v1/rfm');
    for (let i = 0; i < 150 && boot.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      boot = await get('/v1/rfm');
    }
    expect(boot.body.run).toMatchObject({ trigger: 'schedule', status: 'done', customers: 0 });

    const ids = Array.from({ length: 10 }, (_, i) => `rfm-${i}-${randomUUID()}`);
    const events = ids.flatMap((customerId, i) =>
      Array.from({ length: 1 + (i % 5) }, (_, k) => ({
        type: 'purchase', customerId, occurredAt: new Date(Date.UTC(2026, i, 1 + k)).toISOString(), channel: 'web', orderId: `o-${randomUUID()}`,
        currency: 'USD', items: [{ productId: 'p', quantity: 1, unitPriceMinor: 1000 * (i + 1) }], totalMinor: 1000 * (i + 1),
      })),
    );
    const ingest = await (await fetch(`${cairn.url}/v1/events`, { method: 'POST', headers: auth(), body: JSON.stringify({ events }) })).json();
    // Read-your-writes on the profile, then recompute.
    expect((await get(`/v1/customers/${ids[9]}?minPosition=${ingest.position.commit}`)).status).toBe(200);
    const run = await fetch(`${cairn.url}/v1/rfm/runs`, { method: 'POST', headers: auth(), body: JSON.stringify({ asOf: '2026-12-31T00:00:00Z', windowDays: 365 }) });
    expect(run.status).toBe(201);
    const runBody = await run.json();
    expect(runBody).toMatchObject({ status: 'done', trigger: 'demand', customers: 10, windowDays: 365 });

    const dist = await get('/v1/rfm');
    expect(dist.body.run.runId).toBe(runBody.runId);
    expect(dist.body.grid.flat().reduce((a: number, b: number) => a + b, 0)).toBe(10);
    const champions = dist.body.segments.find((s: { segment: string }) => s.segment === 'champions');
    expect(champions.label).toBe('Champions');
    const members = await get(`/v1/rfm/champions/customers?limit=1`);
    expect(members.status).toBe(200);
    expect(members.body.items.length).toBe(Math.min(1, champions.customers));
    if (champions.customers > 1) expect(members.body.nextCursor).toEqual(expect.any(String));
    const history = await get(`/v1/rfm/history/${ids[9]}`);
    expect(history.body.history).toEqual([expect.objectContaining({ runId: runBody.runId, orders: 5, r: expect.any(Number) })]);

    const badSegment = await get('/v1/rfm/vip/customers');
    expect(badSegment.status).toBe(400);
    expect(badSegment.body.error.fields[0].field).toBe('segment');
    const badRun = await fetch(`${cairn.url}/v1/rfm/runs`, { method: 'POST', headers: auth(), body: JSON.stringify({ asOf: 'yesterday', windowDays: 0 }) });
    expect(badRun.status).toBe(400);
    expect((await badRun.json()).error.fields.map((f: { field: string }) => f.field)).toEqual(['asOf', 'windowDays']);
  });
});
