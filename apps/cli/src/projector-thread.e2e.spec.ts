/**
 * `cairn start`'s projection engine in its worker thread, over HTTP: read-your-writes through the
 * thread's status messages, a rebuild (pause/resume calls across the thread), and the thread's
 * death: the API keeps accepting, /v1/projections shows the projections failed with the cause,
 * a new thread starts by itself and projects everything accepted meanwhile, once.
 */
import { startCairn, type TestCairn } from '../../../test/support/cairn';
import { ProjectorThread } from './projector-thread';

const purchase = (customerId: string, n: number) => ({
  id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  type: 'purchase',
  customerId,
  occurredAt: new Date(Date.UTC(2026, 5, 1) + n * 3_600_000).toISOString(),
  channel: 'web',
  orderId: `o${n}`,
  currency: 'USD',
  items: [{ productId: 'p', quantity: 1, unitPriceMinor: 1000 }],
  totalMinor: 1000,
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the projector thread of cairn start', () => {
  let cairn: TestCairn;
  const auth = () => ({ authorization: `Bearer ${cairn.adminKey}`, 'content-type': 'application/json' });
  const ingest = async (events: unknown[]) => {
    const res = await fetch(`${cairn.url}/v1/events`, { method: 'POST', headers: auth(), body: JSON.stringify({ events }) });
    expect(res.status).toBe(202);
    return ((await res.json()) as { position: { commit: string } }).position.commit;
  };
  const orders = async (customerId: string, minPosition: string) => {
    const res = await fetch(`${cairn.url}/v1/customers/${customerId}?minPosition=${minPosition}`, { headers: auth() });
    expect(res.status).toBe(200);
    return ((await res.json()) as { orders: number }).orders;
  };
  const projections = async () => ((await (await fetch(`${cairn.url}/v1/projections`, { headers: auth() })).json()) as { projections: { name: string; state: string; lastError: string | null }[] }).projections;

  beforeAll(async () => {
    cairn = await startCairn({ projectorThread: true });
  }, 120_000);
  afterAll(async () => {
    await cairn?.close();
  });

  it('runs the engine in a thread: reads wait for the thread to reach their position', async () => {
    expect(cairn.process.engine).toBeInstanceOf(ProjectorThread);
    const at = await ingest(Array.from({ length: 12 }, (_, i) => purchase(`t-${i % 3}`, i)));
    expect(await orders('t-0', at)).toBe(4);
  });

  it('rebuilds through the thread (pause, switch, resume) and keeps projecting afterwards', async () => {
    const started = await fetch(`${cairn.url}/v1/admin/rebuilds`, { method: 'POST', headers: auth(), body: JSON.stringify({ projections: ['all'] }) });
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as { id: string };
    const done = await until('the rebuild to finish', async () => {
      const b = (await (await fetch(`${cairn.url}/v1/admin/rebuilds/${id}`, { headers: auth() })).json()) as { phase: string };
      return b.phase === 'building' || b.phase === 'switching' ? undefined : b;
    });
    expect(done.phase).toBe('switched');
    const at = await ingest([purchase('t-0', 100)]);
    expect(await orders('t-0', at)).toBe(5);
  });

  it('survives the thread dying: the API accepts meanwhile, health names the cause, a new thread projects it all once', async () => {
    const thread = cairn.process.engine as ProjectorThread;
    await thread.kill();
    const down = await projections();
    expect(down.map((p) => p.state)).toEqual(down.map(() => 'failed'));
    expect(down[0]!.lastError).toMatch(/projector thread stopped/);

    // Accepted while no projector runs; the new thread (after a 1 s back-off) catches up on them.
    const at = await ingest(Array.from({ length: 6 }, (_, i) => purchase('t-1', 200 + i)));
    await until('every projection to run again in a new thread', async () => ((await projections()).every((p) => p.state === 'live') ? true : undefined));
    expect(await orders('t-1', at)).toBe(4 + 6);
    expect(thread.restarts).toBe(1);
    // Exactly once across the death: the earlier orders were not applied again.
    expect(await orders('t-0', at)).toBe(5);
  }, 120_000);
});
