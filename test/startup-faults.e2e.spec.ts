/**
 * Boot with a dependency unreachable: `cairn api` never claims "event store ready" before the event
 * store has answered. It retries with backoff, logging each attempt with the component, and after
 * CAIRN_STARTUP_TIMEOUT_MS exits non-zero naming the component. The same for a PostgreSQL read store.
 */
import { randomUUID } from 'crypto';
import { mkdtempSync, rmSync } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { spawnCairn, type CairnChild } from './support/cairn-process';

/** A port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

describe('boot with a dependency unreachable', () => {
  const root = mkdtempSync(join(tmpdir(), 'cairn-boot-'));
  const children: CairnChild[] = [];
  const env = { CAIRN_ADMIN_KEY: `test_${randomUUID().replace(/-/g, '')}`, CAIRN_STARTUP_TIMEOUT_MS: '2000', CAIRN_LOG_LEVEL: 'info' };
  afterAll(async () => {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    rmSync(root, { recursive: true, force: true });
  });

  it('cairn api with the event store unreachable retries, then exits naming it, never logging "event store ready"', async () => {
    const port = await deadPort();
    const api = spawnCairn(['api', '--port', '0', '--data-dir', join(root, 'a'), '--event-store', `esdb://127.0.0.1:${port}?tls=false`], env);
    children.push(api);
    expect(await api.exited).not.toBe(0);
    expect(api.out()).toContain('event store unreachable, retrying');
    expect(api.out()).toContain(`event store unreachable at esdb://127.0.0.1:${port}?tls=false after`);
    expect(api.out()).not.toContain('event store ready');
    expect(api.out()).not.toContain('Cairn API on');
  }, 60_000);

  it('cairn start with PostgreSQL unreachable retries, then exits naming the read store', async () => {
    const port = await deadPort();
    const start = spawnCairn(['start', '--port', '0', '--data-dir', join(root, 'b'), '--read-model', `postgres://postgres:secret@127.0.0.1:${port}/x`], env);
    children.push(start);
    expect(await start.exited).not.toBe(0);
    expect(start.out()).toContain('read store unreachable, retrying');
    expect(start.out()).toContain(`read store unreachable at postgres://postgres:***@127.0.0.1:${port}/x after`);
    expect(start.out()).not.toContain('secret');
    expect(start.out()).not.toContain('read store ready');
  }, 60_000);
});
