/**
 * Storage faults of the embedded node: one process per data directory (refused naming the holder,
 * stale lock files of dead processes taken over), private files, and a write that fails in SQLite
 * (disk full, simulated with max_page_count) leaves no trace: nothing visible, nothing durable, no
 * in-memory state advanced, and the node carries on once space is back.
 */
import { spawn } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { EventStoreDBClient } from '@eventstore/db-client';
import { collect, ev } from './test-support.spec';
import { startEmbeddedNode } from './index';
import { DataDirLockedError, Store } from './store';

const RUNNER = join(__dirname, 'run-from-source.js');

async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const append = (store: Store, stream: string, ids: string[], bytes = 10) =>
  store.write({
    kind: 'append',
    stream,
    expected: { kind: 'any' },
    events: ids.map((id) => ({ id, type: 'T', contentType: 'application/json', data: Buffer.alloc(bytes, 'x'), metadata: Buffer.alloc(0) })),
  });

const uuid = () => globalThis.crypto.randomUUID();

describe('embedded node storage faults', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cairn-esdb-faults-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates its directory 0700 and its files 0600', async () => {
    const data = join(dir, 'nested', 'eventstore');
    const store = new Store(data);
    await append(store, 's', [uuid()]);
    try {
      expect(statSync(join(dir, 'nested')).mode & 0o777).toBe(0o700);
      expect(statSync(data).mode & 0o777).toBe(0o700);
      for (const f of ['esdb.sqlite', 'esdb.sqlite-wal', 'cairn.lock']) expect([f, statSync(join(data, f)).mode & 0o777]).toEqual([f, 0o600]);
    } finally {
      store.close();
    }
  });

  it('refuses a second store on the same directory in the same process, naming the holder', () => {
    const first = new Store(dir);
    try {
      let err: unknown;
      try {
        new Store(dir).close();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DataDirLockedError);
      expect((err as Error).message).toContain(`pid ${process.pid}`);
      expect((err as Error).message).toContain(dir);
    } finally {
      first.close();
    }
    // Released on close: it opens again.
    new Store(dir).close();
  });

  it('refuses while another process holds the directory, and takes over its stale lock after kill -9', async () => {
    const child = spawn(process.execPath, [RUNNER, '--port', '0', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      await waitFor('the child node to listen', () => out.includes('esdb://'));
      expect(() => new Store(dir)).toThrow(new RegExp(`in use by another process: pid ${child.pid} \\(still running`));
      // startEmbeddedNode refuses the same way (before binding anything).
      await expect(startEmbeddedNode({ port: 0, dataDir: dir })).rejects.toBeInstanceOf(DataDirLockedError);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    // The lock file still names the dead process; the kernel lock died with it.
    expect(JSON.parse(readFileSync(join(dir, 'cairn.lock'), 'utf8')).pid).toBe(child.pid);
    const store = new Store(dir);
    try {
      expect(JSON.parse(readFileSync(join(dir, 'cairn.lock'), 'utf8')).pid).toBe(process.pid);
    } finally {
      store.close();
    }
  }, 30_000);

  it('a group that fails to commit (disk full) leaves nothing behind and the node carries on', async () => {
    const store = new Store(dir);
    const db = (store as unknown as { db: import('better-sqlite3').Database }).db;
    const before = uuid();
    await append(store, 'existing', [before]);
    const head = store.head;
    // No page beyond the current ones: the next sizeable write fails with SQLITE_FULL.
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages}`);
    const failedIds = Array.from({ length: 20 }, uuid);
    const results = await Promise.allSettled([append(store, 'new-stream', failedIds.slice(0, 10), 20_000), append(store, 'existing', failedIds.slice(10), 20_000)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(((results[0] as PromiseRejectedResult).reason as { code: string }).code).toBe('SQLITE_FULL');
    expect(store.lastWriteFailure?.code).toBe('SQLITE_FULL');
    expect(store.head).toBe(head);
    expect(store.stream('new-stream')).toBeUndefined();
    expect(store.stream('existing')?.lastRev).toBe(0);
    expect(store.readAllForward(0, 100).map((r) => r.pos)).toEqual([1]);
    expect(() => store.probeWrite()).not.toThrow(); // a one-row update fits in the pages there are…
    expect(store.lastWriteFailure?.code).toBe('SQLITE_FULL'); // …and does not hide the failed append

    // Space is back: the same ids are appended once, with contiguous positions, and the stream ids
    // handed out during the failed group were given back.
    db.pragma('max_page_count = 1073741823');
    const ok = await append(store, 'new-stream', failedIds.slice(0, 10), 20_000);
    expect(ok).toMatchObject({ ok: true, revision: 9, position: head + 10 });
    expect(store.lastWriteFailure).toBeUndefined();
    expect(store.stream('new-stream')?.id).toBe(store.stream('existing')!.id + 1);
    store.close();

    // And so it is after a restart, read through the real client.
    const node = await startEmbeddedNode({ port: 0, dataDir: dir });
    const client = EventStoreDBClient.connectionString(node.connectionString);
    try {
      const all = (await collect(client.readAll())).map((e) => e.event!);
      expect(all.map((e) => e.id)).toEqual([before, ...failedIds.slice(0, 10)]);
      expect(all.map((e) => Number(e.position!.commit))).toEqual(all.map((_, i) => i + 1));
    } finally {
      await client.dispose();
      await node.close();
    }
  });
});
