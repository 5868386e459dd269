/**
 * `cairn import <file | ->` against Cairn composed in-process (embedded node, SQLite): the command
 * as a real child process (file, stdin, --from-line, per-line errors, exit code), and the client's
 * resumption through a connection cut mid-answer (a TCP proxy) and through an event store that goes
 * away mid-import (503 / CAIRN.UNAVAILABLE, a real stopped node) until it is back.
 */
import { spawn } from 'child_process';
import { randomUUID } from 'crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { createServer, connect, type Server, type Socket } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { loadConfig } from '@cairn/config';
import { startEmbeddedNode, type EmbeddedNode } from '@cairn/esdb-embedded';
import { startCairn, type TestCairn } from '../../../test/support/cairn';
import { composeCairn, type CairnProcess } from './compose';
import { importNdjson } from './import-ndjson';

const RUNNER = join(__dirname, '../../../test/support/run-cairn-from-source.js');

type Rec = Record<string, unknown>;
/** Small groups (CAIRN_IMPORT_GROUP_EVENTS) so a few thousand lines make several. */
const IMPORT_GROUP_LINES = 500;
const GROUP_ENV = { CAIRN_IMPORT_GROUP_EVENTS: String(IMPORT_GROUP_LINES) };
const view = (customerId: string) => ({ id: randomUUID(), type: 'view', customerId, occurredAt: '2026-02-01T10:00:00Z', channel: 'web', productId: 'p1' });
const history = (prefix: string, n: number, customers: number) => Array.from({ length: n }, (_, i) => view(`${prefix}-${i % customers}`));
const ndjson = (lines: (Rec | string)[]) => lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n';

function runCli(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [RUNNER, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, CAIRN_LOG_LEVEL: 'warn' } });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    proc.once('exit', (code) => resolve({ code, stdout, stderr }));
    if (stdin !== undefined) proc.stdin.end(stdin);
    else proc.stdin.end();
  });
}

/** Forwards to `target`; the first connection is cut right after the first answer chunk holding an acknowledgment. */
async function cuttingProxy(target: URL): Promise<{ url: string; cuts: () => number; close: () => Promise<void> }> {
  let cuts = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    const cutThis = cuts === 0;
    client.pipe(upstream);
    upstream.on('data', (d: Buffer) => {
      client.write(d);
      if (cutThis && cuts === 0 && d.toString().includes('"acknowledged"')) {
        cuts++;
        client.end();
        upstream.destroy();
      }
    });
    upstream.on('end', () => client.end());
    const drop = () => (client.destroy(), upstream.destroy());
    client.on('error', drop);
    upstream.on('error', drop);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    cuts: () => cuts,
    close: () => new Promise<void>((r) => (sockets.forEach((s) => s.destroy()), server.close(() => r()))),
  };
}

// The command runs as a child process transpiled from the sources (several seconds a start on a busy machine).
jest.setTimeout(120_000);

describe('cairn import <file | ->', () => {
  let cairn: TestCairn;
  let dir: string;
  /** The profile once the projections include `position` (a 409 means "not yet": asked again, up to 60 s). */
  const profile = async (customerId: string, position: string) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await fetch(`${cairn.url}/v1/customers/${customerId}?minPosition=${position}`, { headers: { authorization: `Bearer ${cairn.adminKey}` } });
      if (res.status === 404) return { views: 0 };
      const body = (await res.json()) as { views: number };
      if (res.status === 200) return body;
      if (res.status !== 409 || Date.now() > deadline) throw new Error(`GET /v1/customers/${customerId} answered ${res.status}: ${JSON.stringify(body)}`);
    }
  };

  beforeAll(async () => {
    cairn = await startCairn({ env: GROUP_ENV });
    dir = mkdtempSync(join(tmpdir(), 'cairn-cli-import-'));
  });
  afterAll(async () => {
    await cairn?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports a file, prints each rejected line with field and reason, a JSON summary, and exits 1 when lines were rejected', async () => {
    const events = history('file', 30, 3);
    const file = join(dir, 'history.ndjson');
    writeFileSync(file, ndjson([...events.slice(0, 10), { ...view('file-0'), channel: 'fax' }, ...events.slice(10)]));
    const run = await runCli(['import', file, '--url', cairn.url, '--key', cairn.adminKey]);
    expect(run.stderr).toMatch(/line 11: channel: /);
    expect(run.code).toBe(1);
    const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Rec;
    expect(summary).toMatchObject({ lines: 31, accepted: 30, duplicates: 0, rejected: 1, acknowledged: 31, attempts: 1 });
    expect((await profile('file-1', summary.position as string)).views).toBe(10);

    const again = await runCli(['import', file, '--url', cairn.url, '--key', cairn.adminKey]);
    expect(JSON.parse(again.stdout.trim().split('\n').at(-1)!)).toMatchObject({ accepted: 0, duplicates: 30, rejected: 1 });
  });

  it('reads stdin with -, and --from-line starts at that line of the file (numbers stay the file\'s)', async () => {
    const events = history('stdin', 20, 2);
    const text = ndjson([...events.slice(0, 5), '{"not": "an event"', ...events.slice(5)]);
    const run = await runCli(['import', '-', '--url', cairn.url, '--key', cairn.adminKey, '--from-line', '4'], text);
    expect(run.stderr).toMatch(/line 6: \(line\): malformed JSON/);
    const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Rec;
    // Lines 4–21: 17 events and the malformed line; lines 1–3 are not sent.
    expect(summary).toMatchObject({ lines: 18, accepted: 17, rejected: 1, acknowledged: 21 });
    const fresh = await importNdjson([Buffer.from(ndjson(events.slice(0, 3)))], { url: cairn.url, key: cairn.adminKey });
    expect(fresh).toMatchObject({ accepted: 3, duplicates: 0 });
  });

  it('refuses without retrying what retrying cannot fix (a key without the import scope)', async () => {
    const res = await fetch(`${cairn.url}/v1/admin/keys`, { method: 'POST', headers: { authorization: `Bearer ${cairn.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'reader', scopes: ['read'] }) });
    const { key } = (await res.json()) as { key: string };
    const file = join(dir, 'one.ndjson');
    writeFileSync(file, ndjson([view('forbidden-1')]));
    const run = await runCli(['import', file, '--url', cairn.url, '--key', key]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/import refused: 403 CAIRN.FORBIDDEN .*'import' scope.*--from-line 1/);
  });

  it('resumes after the connection is cut mid-answer, from the last acknowledged line, and every event is stored once', async () => {
    const events = history('cut', IMPORT_GROUP_LINES * 3, 10);
    const proxy = await cuttingProxy(new URL(cairn.url));
    const retries: string[] = [];
    try {
      const result = await importNdjson([Buffer.from(ndjson(events))], { url: proxy.url, key: cairn.adminKey, backoffMs: 10, onRetry: (reason, _ms, from) => retries.push(`${from}: ${reason}`) });
      expect(proxy.cuts()).toBe(1);
      expect(retries).toHaveLength(1);
      // It resends from the line after an acknowledged group, not from the start.
      const from = Number(/^(\d+): /.exec(retries[0])?.[1]);
      expect(from).toBeGreaterThan(1);
      expect((from - 1) % IMPORT_GROUP_LINES).toBe(0);
      expect(result).toMatchObject({ acknowledged: events.length, lines: events.length, rejected: 0, attempts: 2 });
      // Lines appended after the cut but before the answer reached the client come back as duplicates.
      expect(result.accepted + result.duplicates).toBe(events.length);
      expect(result.accepted).toBeGreaterThanOrEqual(IMPORT_GROUP_LINES);
      // Each event counted once: the profile reaches exactly its number of views (more would never match).
      const expected = events.length / 10;
      const deadline = Date.now() + 30_000;
      let views = -1;
      while ((views = (await profile('cut-3', result.position!)).views) !== expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(views).toBe(expected);
    } finally {
      await proxy.close();
    }
  });
});

describe('cairn import while the event store is away', () => {
  let dir: string;
  let node: EmbeddedNode;
  let cairn: CairnProcess;
  const key = `test_${randomUUID().replace(/-/g, '')}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cairn-cli-import-fault-'));
    node = await startEmbeddedNode({ dataDir: join(dir, 'esdb'), port: 0 });
    const config = loadConfig({ CAIRN_LOG_LEVEL: 'silent', ...GROUP_ENV }, { port: 0, dataDir: join(dir, 'cairn'), adminKey: key, eventStore: node.connectionString });
    config.host = '127.0.0.1';
    cairn = await composeCairn(config, { api: true, projector: true });
  });
  afterAll(async () => {
    await cairn?.close();
    await node?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('retries with backoff after CAIRN.UNAVAILABLE and completes once the node is back', async () => {
    const events = history('away', IMPORT_GROUP_LINES * 2, 7);
    const port = node.port;
    await node.close();
    const retries: string[] = [];
    let restarted: Promise<void> | null = null;
    const result = await importNdjson([Buffer.from(ndjson(events))], {
      url: cairn.url!,
      key,
      backoffMs: 50,
      maxBackoffMs: 500,
      retries: 100,
      onRetry: (reason) => {
        retries.push(reason);
        // The node comes back after the client has been refused once.
        restarted ??= startEmbeddedNode({ dataDir: join(dir, 'esdb'), port }).then((n) => void (node = n));
      },
    });
    await restarted;
    expect(retries[0]).toMatch(/CAIRN.UNAVAILABLE/);
    expect(result).toMatchObject({ accepted: events.length, rejected: 0, acknowledged: events.length });
  });
});
