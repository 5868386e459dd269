/**
 * A rebuild SIGKILLed in another process resumes from its shadow checkpoint: the dead owner (same
 * host, pid gone) does not block the next rebuild, which reads only what the shadow lacks.
 */
import { spawn } from 'child_process';
import { existsSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { sql } from 'kysely';
import { startEmbeddedNode, type EmbeddedNode } from '@cairn/esdb-embedded';
import { CairnEventStore } from '@cairn/event-store';
import { openReadStore, readCheckpoint } from '@cairn/read-models';
import { ProjectionEngine } from '../engine/engine';
import { RebuildJob } from './rebuild';
import { appendViews, countingProjection } from './test-support';

const ROOT = resolve(__dirname, '..', '..', '..', '..');
/** Runs a .ts file from source in a child: transpile on require, @cairn/* aliases to the sources. */
const RUN_TS = `
const fs = require('fs'), path = require('path'), ts = require('typescript');
const root = process.argv[1];
const { compilerOptions } = require(path.join(root, 'tsconfig.json'));
const options = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, experimentalDecorators: true, emitDecoratorMetadata: true };
require.extensions['.ts'] = (m, f) => m._compile(ts.transpileModule(fs.readFileSync(f, 'utf8'), { fileName: f, compilerOptions: options }).outputText, f);
require('tsconfig-paths').register({ baseUrl: root, paths: compilerOptions.paths });
require(process.argv[2]);`;

describe('rebuild after SIGKILL', () => {
  let node: EmbeddedNode;
  let events: CairnEventStore;
  let dir: string;

  beforeAll(async () => {
    node = await startEmbeddedNode({ port: 0 });
    events = CairnEventStore.connect(node.connectionString);
    dir = mkdtempSync(join(tmpdir(), 'cairn-rebuild-kill-'));
  });
  afterAll(async () => {
    await events?.close();
    await node?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('resumes at once from the shadow checkpoint the killed process left', async () => {
    const url = `sqlite:${join(dir, 'read-models.sqlite')}`;
    const last = await appendViews(events, 3000, 30);
    let store = await openReadStore(url);
    const v1 = new ProjectionEngine(events, store, [countingProjection({ version: 1, weight: 2 })], { batchSize: 500, batchMs: 5 });
    await v1.start();
    expect(await v1.waitFor(last, 20_000)).toBe(true);
    await v1.stop();
    await store.close();

    const child = spawn(process.execPath, ['-e', RUN_TS, ROOT, join(__dirname, 'rebuild-child.fixture.ts'), node.connectionString, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    await new Promise<void>((resolvePromise, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const done = [...out.matchAll(/done (\d+)/g)].map((m) => Number(m[1]));
        if (done.length > 0 && done[done.length - 1] >= 1000) {
          child.kill('SIGKILL');
          resolvePromise();
        }
      });
      child.once('exit', () => reject(new Error(`child exited before the kill: ${out}\n${err}`)));
    });
    await exited;
    expect(out).not.toContain('finished');

    store = await openReadStore(url);
    try {
      const row = await store.db.selectFrom('rebuilds').selectAll().executeTakeFirstOrThrow();
      expect(row).toMatchObject({ status: 'building', owner: expect.stringMatching(new RegExp(`:${child.pid}$`)) });
      expect(existsSync(join(dir, 'read-models.sqlite.rebuild-test_counts.sqlite'))).toBe(true);
      const { rows: before } = await sql<{ s: number }>`select sum(events) as s from ops_test_counts`.execute(store.db);
      expect(Number(before[0].s)).toBe(6000);

      // Shadow writes that moved the rebuild on (afterBatch also runs after a pass's final flush when nothing was left to write).
      const written = new Set<number>();
      const job = await RebuildJob.start({ events, live: { store, url } }, [countingProjection({ version: 2 })], { batchSize: 100, flushEvery: 100, afterBatch: (s) => void written.add(s.done) });
      const status = await job.done;
      expect(status).toMatchObject({ phase: 'switched', resumed: true, done: 3000 });
      // The killed process had committed at least 1,000 events to the shadow: at most 20 writes of 100 were left.
      expect(written.size).toBeLessThanOrEqual(20);
      const { rows } = await sql<{ n: number; s: number }>`select count(*) as n, sum(events) as s from ops_test_counts`.execute(store.db);
      expect([Number(rows[0].n), Number(rows[0].s)]).toEqual([30, 3000]);
      expect(await readCheckpoint(store.db, 'test-counts')).toBe(last);
    } finally {
      await store.close();
    }
  });
});
