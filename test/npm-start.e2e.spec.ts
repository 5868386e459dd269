/**
 * `npm start` as the README gives it: the server is npm's own child (no shell in between), so the
 * SIGTERM a supervisor sends to npm reaches it, it drains and exits 0, and nothing is left running;
 * the build step compiles only when a source changed.
 */
import { spawn, spawnSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { poll } from './support/cairn-process';

const root = join(__dirname, '..');
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-npm-start-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('runs the built server as the process that gets SIGTERM: it drains, exits 0, leaves no orphan', async () => {
    const npm = spawn('npm', ['start', '--silent'], {
      cwd: root,
      env: { ...process.env, PORT: '0', CAIRN_ESDB_PORT: '0', CAIRN_HOST: '127.0.0.1', CAIRN_DATA_DIR: dataDir, CAIRN_LOG_LEVEL: 'warn', CAIRN_RFM_SCHEDULE: 'off' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    npm.stdout!.on('data', (d) => (out += d));
    npm.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => npm.once('exit', (code) => r(code)));
    const url = await poll(`npm start to print "Cairn API on" (output so far: ${out.slice(-300)})`, () => /Cairn API on (\S+)/.exec(out)?.[1], 180_000);
    await poll('npm start to print its data directory', () => /Data directory: .*cairn-npm-start-/.test(out) || undefined, 30_000);
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
    // npm's child is node itself, not `sh -c`, which would die on SIGTERM and orphan the server.
    const children = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(npm.pid)], { encoding: 'utf8' }).stdout.trim().split('\n');
    expect(children).toHaveLength(1);
    const [pid, ...args] = children[0].trim().split(/\s+/);
    expect(args.join(' ')).toBe('node bin/cairn.js start');
    npm.kill('SIGTERM');
    expect(await exited).toBe(0);
    await poll(`the server (pid ${pid}) to be gone after npm exited`, () => !alive(Number(pid)), 10_000);
  }, 240_000);

  it('builds only when a source changed', () => {
    spawnSync(process.execPath, [join(root, 'bin/build-if-stale.js')], { cwd: root, encoding: 'utf8' });
    const again = spawnSync(process.execPath, [join(root, 'bin/build-if-stale.js')], { cwd: root, encoding: 'utf8' });
    expect(again.status).toBe(0);
    expect(again.stderr).not.toMatch(/compiling/);
  }, 120_000);
});
