/**
 * Disk full under `cairn start` (embedded node and SQLite read models on a 20 MB tmpfs): ingest
 * answers 503 with Retry-After and CAIRN.UNAVAILABLE (never 500, never SQLite's text), /health/ready
 * names the disk and the event store while it lasts, no acknowledged event is lost, no event
 * answered with an error is in the log, and everything recovers by itself once space is freed.
 * Needs `mount -t tmpfs` (CI runs as root); skipped with a message where mounting is not permitted.
 */
import { execFileSync } from 'child_process';
import { randomUUID } from 'crypto';
import { mkdtempSync, rmSync, statfsSync, unlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { EventStoreDBClient } from '@eventstore/db-client';
import { poll, spawnCairn, started, type CairnChild } from './support/cairn-process';

const root = mkdtempSync(join(tmpdir(), 'cairn-diskfull-'));
let mountError: string | null = null;
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', root], { stdio: 'pipe' });
} catch (err) {
  mountError = (err as { stderr?: Buffer }).stderr?.toString().trim() || String(err);
}
if (mountError) console.warn(`disk-full spec SKIPPED: cannot mount a tmpfs at ${root} (${mountError}); run as root to include it`);
const describeMounted = mountError ? describe.skip : describe;

const review = (customerId: string) => ({
  id: randomUUID(),
  type: 'review',
  customerId,
  occurredAt: '2026-11-01T10:00:00Z',
  channel: 'web',
  productId: 'p1',
  rating: 4,
  body: 'x'.repeat(5000),
});

async function logIds(connectionString: string): Promise<string[]> {
  const client = EventStoreDBClient.connectionString(connectionString);
  try {
    const ids: string[] = [];
    for await (const e of client.readAll()) if (e.event?.type.startsWith('cairn.')) ids.push(e.event.id);
    return ids;
  } finally {
    await client.dispose();
  }
}

describeMounted('disk full on the embedded node', () => {
  const key = `test_${randomUUID().replace(/-/g, '')}`;
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  let cairn: CairnChild | undefined;
  afterAll(async () => {
    if (cairn && cairn.proc.exitCode === null) {
      cairn.proc.kill('SIGKILL');
      await cairn.exited;
    }
    try {
      execFileSync('umount', [root]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('answers 503 + Retry-After, reports the disk in readiness, loses nothing and recovers', async () => {
    const dataDir = join(root, 'data');
    cairn = await started(spawnCairn(['start', '--port', '0', '--data-dir', dataDir], { CAIRN_ADMIN_KEY: key, CAIRN_RFM_SCHEDULE: 'off', CAIRN_DISK_MIN_FREE_MB: '1' }));
    const url = cairn.url()!;
    await poll('readiness before the fault', async () => (await fetch(`${url}/health/ready`)).status === 200);

    // Leave about 3 MB, then ingest 250 KB batches until the event store refuses.
    const free = statfsSync(root).bavail * statfsSync(root).bsize;
    const filler = join(root, 'filler');
    writeFileSync(filler, Buffer.alloc(Math.max(0, free - 3 * 1024 * 1024)));

    const acked = new Set<string>();
    const refused: { body: string; ids: string[] }[] = [];
    const other: string[] = [];
    await poll(
      'three appends refused for lack of space',
      async () => {
        const events = Array.from({ length: 50 }, () => review('disk-full'));
        const body = JSON.stringify({ events });
        const res = await fetch(`${url}/v1/events`, { method: 'POST', headers, body });
        const text = await res.text();
        if (res.status === 202) {
          for (const r of JSON.parse(text).results) {
            expect(['accepted', 'duplicate']).toContain(r.status);
            acked.add(r.id);
          }
        } else if (res.status === 503) {
          expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
          expect(text).not.toMatch(/SQLITE|sqlite|disk I\/O|database or disk/);
          const error = JSON.parse(text).error;
          expect(error.code).toBe('CAIRN.UNAVAILABLE');
          expect(error.component).toBe('eventStore');
          const retry = (error.events as { id: string; status: string }[]).filter((e) => e.status === 'retry').map((e) => e.id);
          expect(retry.length).toBeGreaterThan(0);
          for (const e of error.events as { id: string; status: string }[]) if (e.status === 'accepted') acked.add(e.id);
          refused.push({ body, ids: retry });
        } else {
          other.push(`${res.status} ${text.slice(0, 300)}`);
        }
        expect(other).toEqual([]);
        return refused.length >= 3;
      },
      120_000,
      0,
    );
    expect(acked.size).toBeGreaterThan(0);

    // While the disk is full, readiness says so and names the components.
    const ready = await fetch(`${url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.headers.get('retry-after')).toMatch(/^\d+$/);
    const readyBody = await ready.json();
    expect(readyBody.error.code).toBe('CAIRN.UNAVAILABLE');
    expect(readyBody.error.message).toMatch(/disk/);
    expect(readyBody.error.components.disk.status).toBe('down');
    expect(readyBody.error.components.eventStore).toMatchObject({ status: 'down', reason: 'writes fail: disk full' });
    expect((await fetch(`${url}/health/live`)).status).toBe(200);

    // Nothing answered with an error is in the log; everything acknowledged is, once.
    const during = await logIds(cairn.connectionString()!);
    const inLog = new Set(during);
    expect(inLog.size).toBe(during.length);
    for (const r of refused) for (const id of r.ids) expect(inLog.has(id)).toBe(false);
    for (const id of acked) expect(inLog.has(id)).toBe(true);

    // Space is freed: readiness recovers by itself, the refused batches go through with their ids.
    unlinkSync(filler);
    await poll('readiness to recover after space was freed', async () => (await fetch(`${url}/health/ready`)).status === 200, 30_000);
    for (const r of refused) {
      const res = await fetch(`${url}/v1/events`, { method: 'POST', headers, body: r.body });
      expect(res.status).toBe(202);
      for (const x of (await res.json()).results) {
        expect(['accepted', 'duplicate']).toContain(x.status);
        acked.add(x.id);
      }
    }
    const after = await logIds(cairn.connectionString()!);
    expect(new Set(after).size).toBe(after.length);
    expect(after.sort()).toEqual([...acked].sort());

    // The projections catch up and count every acknowledged review exactly once.
    const profile = await poll(
      'the profile to count every acknowledged review',
      async () => {
        const p = await (await fetch(`${url}/v1/customers/disk-full`, { headers })).json();
        return p.reviews === acked.size ? p : undefined;
      },
      60_000,
      100,
    );
    expect(profile.reviews).toBe(acked.size);
    expect(await cairn.stop()).toBe(0);
  }, 240_000);
});
