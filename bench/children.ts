/**
 * Child processes for benchmark suites: the embedded node (or any script printing an `esdb://`
 * connection string) in a process of its own, so the measuring process does only the client's work
 * and the child's RSS can be sampled alone.
 */
import { spawn, type ChildProcess } from 'child_process';
import { readFileSync } from 'fs';
import { join, resolve } from 'path';

const ROOT = resolve(__dirname, '..', '..');
const NODE_ENTRY = join(ROOT, 'dist', 'libs', 'esdb-embedded', 'src', 'index.js');

const NODE_SCRIPT = `
const { startEmbeddedNode } = require(process.argv[1]);
startEmbeddedNode({ dataDir: process.argv[2], port: 0 }).then((node) => {
  process.stdout.write(node.connectionString + '\\n');
  process.on('SIGTERM', () => node.close().then(() => process.exit(0)));
});`;

export interface Child {
  proc: ChildProcess;
  connectionString: string;
  rssMb(): number;
  stop(): Promise<void>;
}

/** Runs `script` with `node -e`, resolving once it prints a line starting with `esdb://`. */
export function startChild(script: string, args: string[]): Promise<Child> {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(process.execPath, ['-e', script, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('esdb://'));
      if (line) {
        resolvePromise({
          proc,
          connectionString: line.trim(),
          rssMb: () => {
            const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
            return m ? Number(m[1]) / 1024 : 0;
          },
          stop: () =>
            new Promise<void>((r) => {
              proc.once('exit', () => r());
              proc.kill('SIGTERM');
            }),
        });
      }
    });
    proc.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
  });
}

/** The embedded node (compiled, from dist) on an ephemeral port, durable under `dataDir`. */
export function startNodeChild(dataDir: string): Promise<Child> {
  return startChild(NODE_SCRIPT, [NODE_ENTRY, dataDir]);
}
