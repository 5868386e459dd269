/**
 * Durability and the CLI, black box: the node runs as `cairn esdb` in a child process (from the TypeScript
 * sources, see run-from-source.js), is killed with SIGKILL while appends race, and is reopened on the same
 * data directory. Every acknowledged append must be there with the same revisions and positions, and no
 * append may be half there.
 */
import { spawn, type ChildProcess } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { EventStoreDBClient, START, persistentSubscriptionToStreamSettingsFromDefaults } from '@eventstore/db-client';
import { collect, ev } from './test-support.spec';
import { startEmbeddedNode } from './index';

const RUNNER = join(__dirname, 'run-from-source.js');

function startCli(args: string[]): { child: ChildProcess; ready: Promise<string>; exit: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, [RUNNER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const line = stdout.split('\n').find((l) => l.startsWith('esdb://'));
      if (line) resolve(line.trim());
    });
    void exit.then(({ code }) => reject(new Error(`cairn esdb exited with ${code}: ${stderr}`)));
  });
  ready.catch(() => undefined);
  return { child, ready, exit };
}

describe('durability and the cairn esdb command', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cairn-esdb-dur-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps persistent-subscription groups, checkpoints and parked messages across SIGKILL', async () => {
    let cli = startCli(['--port', '0', '--data-dir', dir]);
    let client = EventStoreDBClient.connectionString(await cli.ready);
    await client.appendToStream('ps-dur', Array.from({ length: 10 }, (_, i) => ev(i === 3 ? 'Poison' : 'Ok', { i })));
    await client.createPersistentSubscriptionToStream(
      'ps-dur',
      'g',
      persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START, checkPointLowerBound: 1, checkPointUpperBound: 1, maxRetryCount: 0 }),
    );
    const sub = client.subscribeToPersistentSubscriptionToStream('ps-dur', 'g');
    sub.on('data', (e) => void (e.event!.type === 'Poison' ? sub.nack('retry', 'bad', e) : sub.ack(e)));
    sub.on('error', () => undefined); // it is dropped when the node is killed
    // Wait (bounded) for the checkpoint after the last event and the poison event parked (maxRetryCount 0).
    for (const deadline = Date.now() + 20_000; ; ) {
      const info = await client.getPersistentSubscriptionToStreamInfo('ps-dur', 'g');
      if (info.stats.lastCheckpointedEventRevision === 9n && info.stats.parkedMessageCount === 1n) break;
      if (Date.now() > deadline) throw new Error(`checkpoint ${info.stats.lastCheckpointedEventRevision}, parked ${info.stats.parkedMessageCount}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    cli.child.kill('SIGKILL');
    await cli.exit;
    await client.dispose();

    cli = startCli(['--port', '0', '--data-dir', dir]);
    client = EventStoreDBClient.connectionString(await cli.ready);
    try {
      const info = await client.getPersistentSubscriptionToStreamInfo('ps-dur', 'g');
      expect(info.stats.lastCheckpointedEventRevision).toBe(9n);
      expect(info.stats.parkedMessageCount).toBe(1n);
      expect(info.settings.maxRetryCount).toBe(0);
      await client.appendToStream('ps-dur', ev('After'));
      const again = client.subscribeToPersistentSubscriptionToStream('ps-dur', 'g');
      const types: string[] = [];
      again.on('data', (e) => {
        types.push(e.event!.type);
        void again.ack(e);
      });
      await client.replayParkedMessagesToStream('ps-dur', 'g');
      for (const deadline = Date.now() + 10_000; types.length < 2 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
      expect(types.sort()).toEqual(['After', 'Poison']);
      await again.unsubscribe();
    } finally {
      await client.dispose();
      cli.child.kill('SIGTERM');
      await cli.exit;
    }
  });

  it('keeps every acknowledged append across SIGKILL, and never half an append', async () => {
    const cli = startCli(['--port', '0', '--data-dir', dir]);
    const cs = await cli.ready;
    expect(cs).toMatch(/^esdb:\/\/127\.0\.0\.1:\d+\?tls=false$/);
    const client = EventStoreDBClient.connectionString(cs);
    type Ack = { stream: string; ids: string[]; revision: bigint; position: bigint };
    const acked: Ack[] = [];
    const sent: Array<{ stream: string; ids: string[] }> = [];
    let stop = false;
    const writers = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const stream = `dur-${w}-${i % 3}`;
        const events = Array.from({ length: 1 + ((w + i) % 4) }, (_, k) => ev('Dur', { w, i, k }));
        const ids = events.map((e) => e.id);
        sent.push({ stream, ids });
        try {
          const r = await client.appendToStream(stream, events);
          acked.push({ stream, ids, revision: r.nextExpectedRevision, position: r.position!.commit });
        } catch {
          return; // the node is gone
        }
      }
    });
    await new Promise((r) => setTimeout(r, 800));
    cli.child.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    await cli.exit;
    await client.dispose();
    expect(acked.length).toBeGreaterThan(50);

    const node = await startEmbeddedNode({ port: 0, dataDir: dir });
    const reader = EventStoreDBClient.connectionString(node.connectionString);
    try {
      const all = await collect(reader.readAll());
      const byId = new Map(all.map((e) => [e.event!.id, e.event!]));
      for (const a of acked) {
        const last = byId.get(a.ids[a.ids.length - 1]);
        expect(last).toBeDefined();
        expect(last!.streamId).toBe(a.stream);
        expect(last!.revision).toBe(a.revision);
        expect(last!.position!.commit).toBe(a.position);
        a.ids.forEach((id, k) => expect(byId.get(id)?.revision).toBe(a.revision - BigInt(a.ids.length - 1 - k)));
      }
      for (const s of sent) {
        const present = s.ids.filter((id) => byId.has(id)).length;
        expect([0, s.ids.length]).toContain(present);
      }
      // Each stream: revisions 0..n without gaps, in $all order.
      const revs = new Map<string, bigint[]>();
      for (const e of all) revs.set(e.event!.streamId, [...(revs.get(e.event!.streamId) ?? []), e.event!.revision]);
      for (const list of revs.values()) expect(list).toEqual(list.map((_, i) => BigInt(i)));
      // And the node keeps going from there.
      const more = await reader.appendToStream('dur-0-0', ev('After'));
      expect(more.nextExpectedRevision).toBe(BigInt((revs.get('dur-0-0') ?? []).length));
    } finally {
      await reader.dispose();
      await node.close();
    }
  }, 30_000);

  it('shuts down cleanly on SIGTERM and keeps the data', async () => {
    const cli = startCli(['--data-dir', dir, '--port', '0', '--insecure']);
    const client = EventStoreDBClient.connectionString(await cli.ready);
    await client.appendToStream('term-1', [ev('A'), ev('B')]);
    await client.dispose();
    cli.child.kill('SIGTERM');
    expect((await cli.exit).code).toBe(0);
    const node = await startEmbeddedNode({ port: 0, dataDir: dir });
    const reader = EventStoreDBClient.connectionString(node.connectionString);
    try {
      expect((await collect(reader.readStream('term-1'))).map((e) => e.event!.type)).toEqual(['A', 'B']);
    } finally {
      await reader.dispose();
      await node.close();
    }
  });

  it.each([
    [['--port', 'abc']],
    [['--bogus']],
    [['--memory', '--data-dir', 'x']],
    [['--cert', 'a.pem']],
    [['--insecure', '--cert', 'a', '--key', 'b']],
  ])('rejects bad flags %j with a clear message and exit code 2', async (args) => {
    const cli = startCli(args);
    const { code, stderr } = await cli.exit;
    expect(code).toBe(2);
    expect(stderr).toMatch(/^cairn esdb: .+\nusage: cairn esdb/);
  });
});
