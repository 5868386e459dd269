/**
 * `cairn projector` alone answers its own health (CAIRN_PROJECTOR_HEALTH_PORT), as the image's
 * compose healthcheck uses it: live while the process answers; ready while the event store and the
 * read store answer and no projection failed; 503 with Retry-After naming the event store once
 * its node is gone, and ready again by itself once a node serves the same address.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { startEmbeddedNode, type EmbeddedNode } from '@cairn/esdb-embedded';
import { poll, spawnCairn, started, type CairnChild } from '../../../test/support/cairn-process';

describe('cairn projector health', () => {
  let dir: string;
  let node: EmbeddedNode | null = null;
  let projector: CairnChild | null = null;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cairn-projector-health-'));
  });
  afterAll(async () => {
    await projector?.stop();
    await node?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is live and ready, turns 503 naming the event store while it is gone, and recovers by itself', async () => {
    node = await startEmbeddedNode({ dataDir: join(dir, 'esdb'), port: 0 });
    const port = node.port;
    projector = spawnCairn(['projector'], {
      CAIRN_EVENTSTORE: node.connectionString,
      CAIRN_DATA_DIR: join(dir, 'projector'),
      CAIRN_PROJECTOR_HEALTH_PORT: '0',
      CAIRN_LOG_LEVEL: 'warn',
    });
    await started(projector, { api: false });
    const url = await poll('the "Projector health on" line', () => /Projector health on (\S+)\/health\/ready/.exec(projector!.out())?.[1], 30_000);

    expect((await fetch(`${url}/health/live`)).status).toBe(200);
    const ready = await fetch(`${url}/health/ready`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { status: string; components: Record<string, { status: string }> };
    expect(body.status).toBe('ok');
    expect(Object.keys(body.components).sort()).toEqual(['eventStore', 'projections', 'readStore']);
    expect((await fetch(`${url}/nothing-here`)).status).toBe(404);

    // The event store goes away: not ready, naming it, with Retry-After; still live.
    await node.close();
    node = null;
    const down = await poll('readiness to turn 503 with the event store gone', async () => {
      const r = await fetch(`${url}/health/ready`);
      return r.status === 503 ? r : undefined;
    }, 60_000, 200);
    expect(down.headers.get('retry-after')).toBe('5');
    const error = (await down.json()) as { error: { code: string; message: string } };
    expect(error.error.code).toBe('CAIRN.UNAVAILABLE');
    expect(error.error.message).toContain('eventStore');
    expect((await fetch(`${url}/health/live`)).status).toBe(200);

    // The node is back on the same address: ready again without a restart.
    node = await startEmbeddedNode({ dataDir: join(dir, 'esdb'), port });
    await poll('readiness to recover once the event store is back', async () => (await fetch(`${url}/health/ready`)).status === 200 || undefined, 60_000, 200);
    expect(projector.proc.exitCode).toBeNull();
  }, 180_000);
});
