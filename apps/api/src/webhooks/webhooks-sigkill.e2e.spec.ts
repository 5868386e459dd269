/**
 * kill -9 of `cairn start` (a real process) between enqueue and delivery loses nothing: the
 * deliveries committed to the outbox before the kill are all delivered after the restart, each
 * under the webhook-id it was enqueued with, and no source event is enqueued twice.
 */
import { spawn, type ChildProcess } from 'child_process';
import { randomBytes, randomUUID } from 'crypto';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { startReceiver, waitFor, type Receiver } from './webhook-receiver.test-support';

const RUNNER = join(__dirname, '../../../../test/support/run-cairn-from-source.js');

function start(dataDir: string, env: Record<string, string>): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, [RUNNER, 'start', '--port', '0', '--data-dir', dataDir], {
    env: { ...process.env, CAIRN_ESDB_PORT: '0', CAIRN_HOST: '127.0.0.1', CAIRN_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const url = /Cairn API on (\S+)/.exec(out)?.[1];
      if (url) {
        clearInterval(timer);
        resolve({ proc, url });
      }
    }, 20);
    proc.once('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`cairn start exited with ${code}: ${out}`));
    });
  });
}

describe('webhooks across kill -9', () => {
  let receiver: Receiver;
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-wh-kill-'));
  const procs: ChildProcess[] = [];
  afterAll(async () => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    await receiver?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('delivers every enqueued delivery after a restart, under its webhook-id, none enqueued twice', async () => {
    receiver = await startReceiver();
    let up = false;
    receiver.respond = () => (up ? { status: 200 } : { status: 503 });
    const adminKey = `test_${randomBytes(16).toString('hex')}`;
    const env = { CAIRN_ADMIN_KEY: adminKey, CAIRN_WEBHOOK_URLS: 'dev', CAIRN_WEBHOOK_RETRY_BASE_MS: '100', CAIRN_WEBHOOK_POLL_MS: '50', CAIRN_SEGMENT_POLL_MS: '50' };
    let cairn = await start(dataDir, env);
    procs.push(cairn.proc);
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${cairn.url}${path}`, { method, headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return (await res.json()) as Record<string, any>;
    };
    const segment = await call('POST', '/v1/segments', { name: 'buyers', condition: { field: 'orders', op: '>=', value: 1 } });
    const hook = await call('POST', '/v1/webhooks', { url: `${receiver.url}/k`, kinds: ['segment.entered'], segmentId: segment.id });
    receiver.secrets.set('/k', hook.secret as string);
    const customers = Array.from({ length: 20 }, () => `k-${randomUUID()}`);
    await call('POST', '/v1/events', {
      events: customers.map((c, i) => ({ type: 'purchase', customerId: c, occurredAt: new Date(Date.now() - 60_000).toISOString(), channel: 'web', orderId: `o-${i}`, currency: 'USD', items: [{ productId: 'p', quantity: 1, unitPriceMinor: 100 }], totalMinor: 100 })),
    });
    // Enqueued and tried (the receiver is down): every delivery is pending with a failed attempt.
    const before = await waitFor(
      'all 20 deliveries enqueued and attempted',
      async () => (await call('GET', `/v1/webhooks/${hook.id}/deliveries?limit=500`)).items as { id: string; status: string; attempts: unknown[] }[],
      (items) => items.length === customers.length && items.every((d) => d.status === 'pending' && d.attempts.length >= 1),
    );
    cairn.proc.kill('SIGKILL');
    await new Promise((r) => cairn.proc.once('exit', r));
    up = true;
    cairn = await start(dataDir, env);
    procs.push(cairn.proc);
    const ids = new Set(before.map((d) => d.id));
    await waitFor('every enqueued delivery delivered after the restart', () => new Set(receiver.requests.filter((r) => r.answered === 200).map((r) => r.id)).size, (n) => n >= ids.size);
    const delivered = new Set(receiver.requests.filter((r) => r.answered === 200).map((r) => r.id));
    expect(delivered).toEqual(ids);
    expect(receiver.requests.every((r) => r.verified)).toBe(true);
    expect(new Set(receiver.requests.filter((r) => r.answered === 200).map((r) => r.body.data.customerId))).toEqual(new Set(customers));
    const after = (await call('GET', `/v1/webhooks/${hook.id}/deliveries?limit=500`)).items as { id: string; status: string }[];
    expect(after.map((d) => d.id).sort()).toEqual([...ids].sort());
    expect(after.every((d) => d.status === 'delivered')).toBe(true);
    cairn.proc.kill('SIGTERM');
    await new Promise((r) => cairn.proc.once('exit', r));
  }, 120_000);
});
