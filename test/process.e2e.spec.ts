/**
 * `cairn start` as a real process: first-start admin key, a wrong setting stops start-up naming it,
 * SIGTERM drains in-flight appends and exits 0, and every acknowledged event survives kill -9.
 */
import { spawn, type ChildProcess } from 'child_process';
import { randomUUID } from 'crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

const RUNNER = join(__dirname, 'support', 'run-cairn-from-source.js');

interface Running {
  proc: ChildProcess;
  url: string;
  out: () => string;
  exited: Promise<number | null>;
}

function start(dataDir: string, env: Record<string, string> = {}): Promise<Running> {
  const proc = spawn(process.execPath, [RUNNER, 'start', '--port', '0', '--data-dir', dataDir], {
    env: { ...process.env, CAIRN_ESDB_PORT: '0', CAIRN_HOST: '127.0.0.1', CAIRN_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const url = /Cairn API on (\S+)/.exec(out)?.[1];
      if (url) {
        clearInterval(timer);
        resolve({ proc, url, out: () => out, exited });
      }
    }, 20);
    void exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`cairn start exited with ${code}: ${out}`));
    });
  });
}

const view = (customerId: string) => ({ id: randomUUID(), type: 'view', customerId, occurredAt: '2026-11-01T10:00:00Z', channel: 'web', productId: 'p1' });

describe('cairn start as a process', () => {
  const dirs: string[] = [];
  const procs: ChildProcess[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'cairn-proc-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('stops at boot naming a wrong setting', async () => {
    const proc = spawn(process.execPath, [RUNNER, 'start', '--data-dir', tmp()], { env: { ...process.env, PORT: 'eighty' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    proc.stderr!.on('data', (d) => (err += d));
    const code = await new Promise((r) => proc.once('exit', r));
    expect(code).not.toBe(0);
    expect(err).toContain('PORT');
  });

  it('creates an admin key at first start (kept hashed in the read store, never in clear), drains on SIGTERM, and keeps acknowledged events across kill -9', async () => {
    const dataDir = tmp();
    const first = await start(dataDir);
    procs.push(first.proc);
    const key = /(cairn_[A-Za-z0-9_-]+)/.exec(first.out())?.[1];
    expect(key).toBeDefined();
    for (const f of ['read-models.sqlite', 'read-models.sqlite-wal']) {
      if (existsSync(join(dataDir, f))) expect(readFileSync(join(dataDir, f)).includes(key!)).toBe(false);
    }
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };

    // SIGTERM while a request is in flight: it is answered, then the process exits 0.
    const inFlight = fetch(`${first.url}/v1/events`, { method: 'POST', headers, body: JSON.stringify({ events: Array.from({ length: 200 }, () => view('drain')) }) });
    await new Promise((r) => setTimeout(r, 5));
    first.proc.kill('SIGTERM');
    const drained = await inFlight;
    expect(drained.status).toBe(202);
    expect(await first.exited).toBe(0);

    // Acknowledged events survive kill -9.
    const second = await start(dataDir);
    procs.push(second.proc);
    expect(second.out()).not.toContain('Created an admin API key');
    const acked: string[] = [];
    for (let i = 0; i < 20; i++) {
      const e = view('durable');
      const res = await fetch(`${second.url}/v1/events`, { method: 'POST', headers, body: JSON.stringify(e) });
      expect(res.status).toBe(202);
      acked.push(e.id);
    }
    second.proc.kill('SIGKILL');
    await second.exited;

    const third = await start(dataDir);
    procs.push(third.proc);
    // Every acknowledged id is known to the store: re-sending it is a duplicate…
    const again = await (await fetch(`${third.url}/v1/events`, { method: 'POST', headers, body: JSON.stringify({ events: acked.map((id) => ({ ...view('durable'), id })) }) })).json();
    expect(again.results.map((r: { status: string }) => r.status)).toEqual(acked.map(() => 'duplicate'));
    // …and the projections, catching up after the crash, count each exactly once.
    let profile: { views?: number } = {};
    for (let i = 0; i < 100 && profile.views !== 20; i++) {
      profile = await (await fetch(`${third.url}/v1/customers/durable`, { headers })).json();
      if (profile.views !== 20) await new Promise((r) => setTimeout(r, 100));
    }
    expect(profile.views).toBe(20);
    const drainedProfile = await (await fetch(`${third.url}/v1/customers/drain`, { headers })).json();
    expect(drainedProfile.views).toBe(200);
    third.proc.kill('SIGTERM');
    expect(await third.exited).toBe(0);
  }, 120_000);
});
