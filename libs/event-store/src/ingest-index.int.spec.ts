/**
 * The SQLite ingest index in its own file: ids found after they are recorded, the rows an earlier
 * version kept in the read store copied over once, and no wait for a write lock held on the read
 * store (what the projection engine's transactions hold).
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { openReadStore } from '@cairn/read-models';
import { ingestIndexPath, openSqliteIngestIndex } from './ingest-index';

describe('SQLite ingest index', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'cairn-ingest-index-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('copies the read store rows of an earlier version once, then answers from its own file', async () => {
    const readPath = join(dir, 'read-models.sqlite');
    const store = await openReadStore(`sqlite:${readPath}`);
    await store.db.insertInto('ingested_events').values({ event_id: 'old-1', stream_id: 'customer-a', recorded_at: '2026-01-01T00:00:00.000Z' }).execute();
    await store.close();

    const file = ingestIndexPath(readPath);
    expect(file).toBe(join(dir, 'read-models-ingest-index.sqlite'));
    const index = openSqliteIngestIndex(file, readPath);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await index.record([{ id: 'new-1', streamId: 'customer-b' }], new Date());
    expect([...(await index.find(['old-1', 'new-1', 'never']))].sort()).toEqual(['new-1', 'old-1']);
    await index.close();

    // A second open does not copy again: a row deleted since stays deleted.
    const raw = new Database(file);
    raw.prepare("DELETE FROM ingested_events WHERE event_id = 'old-1'").run();
    raw.close();
    const again = openSqliteIngestIndex(file, readPath);
    expect([...(await again.find(['old-1', 'new-1']))]).toEqual(['new-1']);
    await again.close();
  });

  it('records while another connection holds the read store write lock', async () => {
    const readPath = join(dir, 'read-models.sqlite');
    const store = await openReadStore(`sqlite:${readPath}`);
    const index = openSqliteIngestIndex(ingestIndexPath(readPath), readPath);
    const holder = new Database(readPath, { timeout: 10 });
    holder.exec('BEGIN IMMEDIATE');
    try {
      const ids = Array.from({ length: 1200 }, (_, i) => ({ id: `e${i}`, streamId: `customer-${i % 7}` }));
      await index.record(ids, new Date());
      expect((await index.find(ids.map((r) => r.id))).size).toBe(1200);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
      await index.close();
      await store.close();
    }
  });
});
