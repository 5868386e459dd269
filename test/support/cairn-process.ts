/**
 * `cairn <command>` as a real child process, run from the sources (run-cairn-from-source.js), for
 * fault specs: they kill connections, fill disks and start second processes, so they need the real
 * process boundary. Also a `poll` that waits for a condition (never a fixed time) and says what it
 * waited for when the deadline passes.
 */
import { spawn, type ChildProcess } from 'child_process';
import { join } from 'path';

const RUNNER = join(__dirname, 'run-cairn-from-source.js');

export interface CairnChild {
  readonly proc: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  out(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** `Cairn API on …`, once printed. */
  url(): string | undefined;
  /** `Event store: …`, once printed. */
  connectionString(): string | undefined;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<number | null>;
}

export function spawnCairn(args: string[], env: Record<string, string> = {}): CairnChild {
  const proc = spawn(process.execPath, [RUNNER, ...args], {
    env: { ...process.env, CAIRN_ESDB_PORT: '0', CAIRN_HOST: '127.0.0.1', CAIRN_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return {
    proc,
    out: () => out,
    exited,
    url: () => /Cairn API on (\S+)/.exec(out)?.[1],
    connectionString: () => /Event store: (\S+)/.exec(out)?.[1],
    stop: async (graceMs = 15_000) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Waits until the child printed its event store (and API, for start/api) line; rejects if it exits first. */
export async function started(child: CairnChild, opts: { api: boolean; timeoutMs?: number } = { api: true }): Promise<CairnChild> {
  let exitedWith: number | null | undefined;
  void child.exited.then((c) => (exitedWith = c ?? -1));
  await poll(
    `cairn to start (output so far: ${child.out().slice(-500)})`,
    async () => {
      if (exitedWith !== undefined) throw new Error(`cairn exited with ${exitedWith} before it was ready:\n${child.out()}`);
      return child.connectionString() !== undefined && (!opts.api || child.url() !== undefined);
    },
    opts.timeoutMs ?? 60_000,
  );
  return child;
}

/** Polls `check` until it returns something other than false/undefined; throws naming `what` after `timeoutMs`. */
export async function poll<T>(what: string, check: () => Promise<T | false | undefined> | T | false | undefined, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== false && v !== undefined) return v;
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('cairn exited')) throw err;
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
