/**
 * The embedded node in a worker thread (what `cairn start` runs): the real client appends and reads
 * through it as through a node in the process; the write probe crosses the thread; the data
 * directory's lock is held while it runs and released when it closes; what it acknowledged is
 * there when it is opened again; a start that cannot take the directory fails as the node would.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { EventStoreDBClient } from '@eventstore/db-client';
import { collect, ev } from './test-support.spec';
import { DataDirLockedError, startEmbeddedNodeThread } from './index';

describe('the embedded node in a worker thread', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cairn-node-thread-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('serves the client, probes writes across the thread, holds the lock until closed, and keeps what it acknowledged', async () => {
    const deaths: string[] = [];
    const node = await startEmbeddedNodeThread({ dataDir: dir, port: 0 }, (cause) => deaths.push(cause));
    const client = EventStoreDBClient.connectionString(node.connectionString);
    try {
      for (let i = 0; i < 20; i++) await client.appendToStream(`thread-${i % 4}`, [ev('thread-test', { i })]);
      await expect(node.probeWrite()).resolves.toBeUndefined();
      expect(node.lastWriteFailure).toBeUndefined();
      // A second node on the same directory is refused while this one runs, naming this process.
      const second = startEmbeddedNodeThread({ dataDir: dir, port: 0 }, () => undefined);
      await expect(second).rejects.toBeInstanceOf(DataDirLockedError);
      await expect(second).rejects.toThrow(String(process.pid));
    } finally {
      await client.dispose();
      await node.close();
    }
    await expect(node.probeWrite()).rejects.toThrow('store is closed');
    expect(deaths).toEqual([]); // a close is not a death

    const again = await startEmbeddedNodeThread({ dataDir: dir, port: 0 }, () => undefined);
    const reader = EventStoreDBClient.connectionString(again.connectionString);
    try {
      const read = await collect(reader.readStream('thread-1'));
      expect(read.map((r) => (r.event!.data as { i: number }).i)).toEqual([1, 5, 9, 13, 17]);
    } finally {
      await reader.dispose();
      await again.close();
    }
  });
});
