/**
 * Fault test: `cairn projector` runs in a child process and is SIGKILLed at random points during a
 * large catch-up, then restarted, until it has caught up. The read models must equal the ones
 * built by a single clean run: nothing lost, nothing counted twice.
 */
import { spawn, type ChildProcess } from 'child_process';
import { randomUUID } from 'crypto';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import Database from 'better-sqlite3';
import { streamFor, toStoredEvent, type EventInput } from '@cairn/domain';
import { startEmbeddedNode, type EmbeddedNode } from '@cairn/esdb-embedded';
import { CairnEventStore, type EventToAppend } from '@cairn/event-store';
import { loadConfig } from '@cairn/config';
import { composeCairn } from '../apps/cli/src/compose';

const EVENTS = 10_000;
const RUNNER = join(__dirname, 'support', 'run-cairn-from-source.js');

function makeEvents(n: number): EventToAppend[] {
  let x = 42;
  const rnd = (k: number) => ((x = (x * 1103515245 + 12345) % 2147483648), x % k);
  return Array.from({ length: n }, (_, i) => {
    const customerId = `c${rnd(2000)}`;
    const occurredAt = new Date(Date.UTC(2025, 0, 1) + rnd(700) * 86_400_000).toISOString();
    const input: EventInput =
      rnd(3) === 0
        ? { type: 'purchase', customerId, occurredAt, channel: 'web', orderId: `o${i}`, currency: 'USD', items: [{ productId: `p${rnd(30)}`, category: 'music', quantity: 1, unitPriceMinor: 500 + rnd(5000) }], totalMinor: 0 }
        : { type: 'view', customerId, occurredAt, channel: 'app', productId: `p${rnd(30)}`, category: 'music' };
    if (input.type === 'purchase') (input as { totalMinor: number }).totalMinor = input.items[0].unitPriceMinor;
    return { id: randomUUID(), streamId: streamFor(input), event: toStoredEvent(input), metadata: { receivedAt: occurredAt, correlationId: 'crash-test' } };
  });
}

/** Every table's rows, order-independent, minus bookkeeping that legitimately differs between runs. */
function dump(file: string): Record<string, string[]> {
  const db = new Database(file, { readonly: true });
  try {
    const tables = (db.prepare(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`).all() as { name: string }[]).map((t) => t.name);
    const out: Record<string, string[]> = {};
    for (const t of tables) {
      if (t === 'schema_migrations' || t === 'ingested_events') continue;
      out[t] = (db.prepare(`select * from "${t}"`).all() as Record<string, unknown>[])
        .map((row) => {
          const { updated_at: _u, events_processed: _e, ...rest } = row;
          return JSON.stringify(rest);
        })
        .sort();
    }
    return out;
  } finally {
    db.close();
  }
}

function checkpoints(file: string): Map<string, bigint> {
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const rows = db.prepare('select projection, position from checkpoints').all() as { projection: string; position: string }[];
      return new Map(rows.map((r) => [r.projection, BigInt(r.position)]));
    } finally {
      db.close();
    }
  } catch {
    return new Map();
  }
}

describe('projector crash safety (SIGKILL during catch-up)', () => {
  let node: EmbeddedNode;
  let store: CairnEventStore;
  let dir: string;
  let head: bigint;
  let child: ChildProcess | null = null;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cairn-crash-'));
    node = await startEmbeddedNode({ port: 0 });
    store = CairnEventStore.connect(node.connectionString);
    const events = makeEvents(EVENTS);
    head = 0n;
    for (let i = 0; i < events.length; i += 500) {
      const p = await store.append(events.slice(i, i + 500));
      if (p && p.commit > head) head = p.commit;
    }
  }, 120_000);

  afterAll(async () => {
    child?.kill('SIGKILL');
    await store?.close();
    await node?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ends with the same read models as a clean run', async () => {
    // The clean run, in process.
    const cleanFile = join(dir, 'clean.sqlite');
    const cleanConfig = loadConfig({ CAIRN_LOG_LEVEL: 'silent' }, { eventStore: node.connectionString, readModel: `sqlite:${cleanFile}`, dataDir: join(dir, 'clean') });
    const clean = await composeCairn(cleanConfig, { api: false, projector: true });
    expect(await clean.engine!.waitFor(head, 240_000)).toBe(true);
    const names = clean.engine!.status().map((p) => p.name);
    await clean.close();

    // The faulty run: a separate process, killed at random points until it has caught up.
    const crashFile = join(dir, 'crash.sqlite');
    const env = { ...process.env, CAIRN_EVENTSTORE: node.connectionString, CAIRN_READ_MODEL: `sqlite:${crashFile}`, CAIRN_DATA_DIR: join(dir, 'crash'), CAIRN_LOG_LEVEL: 'info', CAIRN_PROJECTOR_BATCH_SIZE: '500' };
    const caughtUp = () => {
      const cps = checkpoints(crashFile);
      return names.every((n) => cps.get(n) === head);
    };
    let seed = 1234;
    const rnd = (k: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % k);
    const kills: number[] = [];
    for (let round = 0; round < 30 && !caughtUp(); round++) {
      const last = round >= 8; // after eight kills, let it finish
      child = spawn(process.execPath, [RUNNER, 'projector'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      const started = new Promise<void>((resolve) => {
        let out = '';
        child!.stdout!.on('data', (d) => {
          out += d;
          if (out.includes('projection engine started')) resolve();
        });
      });
      const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
      await Promise.race([started, exited]);
      if (child.exitCode !== null) throw new Error(`projector exited early (${child.exitCode}): ${stderr}`);
      if (last) {
        const deadline = Date.now() + 240_000;
        while (!caughtUp() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        child.kill('SIGTERM');
        expect(await exited).toBe(0);
      } else {
        const delay = 50 + rnd(700);
        kills.push(delay);
        await new Promise((r) => setTimeout(r, delay));
        child.kill('SIGKILL');
        await exited;
      }
      child = null;
    }
    expect(caughtUp()).toBe(true);
    expect(kills.length).toBeGreaterThanOrEqual(3);
    const crashed = dump(crashFile);
    const cleanRows = dump(cleanFile);
    expect(Object.keys(crashed)).toEqual(Object.keys(cleanRows));
    for (const table of Object.keys(cleanRows)) {
      const got = new Set(crashed[table]);
      const want = new Set(cleanRows[table]);
      const missing = cleanRows[table].filter((r) => !got.has(r)).slice(0, 3);
      const extra = crashed[table].filter((r) => !want.has(r)).slice(0, 3);
      expect({ table, rows: crashed[table].length, missing, extra }).toEqual({ table, rows: cleanRows[table].length, missing: [], extra: [] });
    }
  }, 600_000);
});
