/**
 * A second `cairn start` on the data directory of a running one is refused at start, naming the
 * holder, and does not disturb the first; after the first is killed -9 its stale lock is taken over.
 * Everything Cairn creates under the data directory is private (directory 0700, files 0600).
 */
import { randomUUID } from 'crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { poll, spawnCairn, started, type CairnChild } from './support/cairn-process';

const view = (customerId: string) => ({ id: randomUUID(), type: 'view', customerId, occurredAt: '2026-11-01T10:00:00Z', channel: 'web', productId: 'p1' });

describe('a second cairn start on the same data directory', () => {
  const root = mkdtempSync(join(tmpdir(), 'cairn-second-'));
  const dataDir = join(root, 'data'); // created by Cairn
  const key = `test_${randomUUID().replace(/-/g, '')}`;
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const children: CairnChild[] = [];
  const run = (args: string[]) => {
    const c = spawnCairn(args, { CAIRN_ADMIN_KEY: key, CAIRN_RFM_SCHEDULE: 'off' });
    children.push(c);
    return c;
  };
  afterAll(async () => {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    rmSync(root, { recursive: true, force: true });
  });

  it('is refused naming the holder, leaves the first serving, and a kill -9 leaves no lock behind', async () => {
    const first = await started(run(['start', '--port', '0', '--data-dir', dataDir]));
    const e1 = view('second-start');
    expect((await fetch(`${first.url()}/v1/events`, { method: 'POST', headers, body: JSON.stringify(e1) })).status).toBe(202);

    const second = run(['start', '--port', '0', '--data-dir', dataDir]);
    expect(await second.exited).not.toBe(0);
    expect(second.out()).toContain(`data directory ${join(dataDir, 'eventstore')} is in use by another process: pid ${first.proc.pid} (still running`);
    expect(second.out()).not.toContain('Cairn API on');

    // The first one is undisturbed: it ingests, reads and is ready.
    const e2 = view('second-start');
    const res = await fetch(`${first.url()}/v1/events`, { method: 'POST', headers, body: JSON.stringify(e2) });
    expect(res.status).toBe(202);
    const { position } = await res.json();
    const profile = await fetch(`${first.url()}/v1/customers/second-start?minPosition=${position.commit}`, { headers });
    expect(await profile.json()).toMatchObject({ views: 2 });
    expect((await fetch(`${first.url()}/health/ready`)).status).toBe(200);

    // Private files.
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'eventstore')).mode & 0o777).toBe(0o700);
    const files = [
      ...readdirSync(dataDir).filter((f) => f !== 'eventstore').map((f) => join(dataDir, f)),
      ...readdirSync(join(dataDir, 'eventstore')).map((f) => join(dataDir, 'eventstore', f)),
    ];
    expect(files.map((f) => f.slice(dataDir.length + 1)).sort()).toEqual(
      expect.arrayContaining(['eventstore/cairn.lock', 'eventstore/esdb.sqlite', 'eventstore/esdb.sqlite-wal', 'read-models.sqlite', 'read-models.sqlite-wal']),
    );
    for (const f of files) expect([f, statSync(f).mode & 0o777]).toEqual([f, 0o600]);

    // kill -9: the lock file stays, naming a dead pid; the next start takes it over.
    first.proc.kill('SIGKILL');
    await first.exited;
    const third = await started(run(['start', '--port', '0', '--data-dir', dataDir]));
    const again = await (await fetch(`${third.url()}/v1/events`, { method: 'POST', headers, body: JSON.stringify({ events: [e1, e2] }) })).json();
    expect(again.results.map((r: { status: string }) => r.status)).toEqual(['duplicate', 'duplicate']);
    await poll('the third process to be ready', async () => (await fetch(`${third.url()}/health/ready`)).status === 200);
    expect(await third.stop()).toBe(0);
  }, 120_000);
});
