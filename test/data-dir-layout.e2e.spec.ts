/**
 * One data directory layout for every command: what `cairn start --data-dir D` appended is what
 * `cairn esdb` serves with CAIRN_DATA_DIR=D and no --data-dir (it used to default to ./data/esdb
 * and start from an empty log), so moving from one process to separate ones keeps the history.
 */
import { randomUUID } from 'crypto';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { EventStoreDBClient } from '@eventstore/db-client';
import { poll, spawnCairn, started } from './support/cairn-process';

describe('data directory layout', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-layout-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('cairn esdb (default data dir) serves the log cairn start wrote under the same CAIRN_DATA_DIR', async () => {
    const key = `layout_${randomUUID()}`;
    const start = await started(spawnCairn(['start', '--port', '0'], { CAIRN_DATA_DIR: dataDir, CAIRN_ADMIN_KEY: key, CAIRN_RFM_SCHEDULE: 'off' }));
    const id = randomUUID();
    const res = await fetch(`${start.url()}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id, type: 'view', customerId: 'layout-1', occurredAt: new Date().toISOString(), channel: 'web', productId: 'p' }),
    });
    expect(((await res.json()) as { results: { status: string }[] }).results[0].status).toBe('accepted');
    expect(await start.stop()).toBe(0);

    const esdb = spawnCairn(['esdb', '--port', '0'], { CAIRN_DATA_DIR: dataDir });
    try {
      const url = await poll(`cairn esdb to print its connection string (output: ${esdb.out()})`, () => /^(esdb:\/\/\S+)$/m.exec(esdb.out())?.[1], 60_000);
      const client = EventStoreDBClient.connectionString(url);
      try {
        const ids: string[] = [];
        for await (const e of client.readAll({ maxCount: 1000 })) if (e.event && !e.event.type.startsWith('$')) ids.push(e.event.id);
        expect(ids).toContain(id);
      } finally {
        await client.dispose();
      }
    } finally {
      expect(await esdb.stop()).toBe(0);
    }
  }, 180_000);
});
