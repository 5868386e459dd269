/**
 * The embedded node in a worker thread of its own (`cairn start`, CAIRN_NODE_THREAD=on): the
 * server's half of every append and read — gRPC framing, protobuf decode, the SQLite group commit
 * and its fsync — then runs beside the HTTP event loop instead of on it, so an import or a burst
 * of batch ingest no longer pays both ends of the protocol on one core.
 *
 * Nothing changes for the client: it connects to the thread's port exactly as to a node in the
 * process, or to EventStoreDB. Readiness's write probe and the last failed append cross as small
 * messages. The thread is not restarted: a node that died would take the log with it, so its
 * death is reported through `onDeath` (the process exits non-zero and its supervisor restarts it;
 * every acknowledged append is already synced).
 */
import { Worker } from 'worker_threads';
import { join, resolve } from 'path';
import type { EmbeddedNodeOptions } from './server';
import { DataDirLockedError, type LockHolder, type WriteFailure } from './store';

export type ToNodeThread = { readonly kind: 'probe'; readonly id: number } | { readonly kind: 'close' };
export type FromNodeThread =
  | { readonly kind: 'ready'; readonly connectionString: string; readonly port: number; readonly secure: boolean }
  | { readonly kind: 'failed'; readonly message: string; readonly locked?: { readonly holder: LockHolder | undefined } }
  | { readonly kind: 'probed'; readonly id: number; readonly error?: { readonly message: string; readonly code?: string } }
  | { readonly kind: 'writeFailure'; readonly failure: (Omit<WriteFailure, 'at'> & { readonly at: number }) | null }
  | { readonly kind: 'closed' };

export interface EmbeddedNodeThread {
  readonly connectionString: string;
  readonly port: number;
  readonly secure: boolean;
  /** Writes and syncs one tiny row in the thread; rejects with the storage error (its `code` kept). */
  probeWrite(): Promise<void>;
  /** The last failed append, until one succeeds again (as last reported by the thread). */
  readonly lastWriteFailure: WriteFailure | undefined;
  /** Ends subscriptions, stops the server, flushes pending appends and closes SQLite, then the thread. */
  close(): Promise<void>;
}

/** The worker script, behind the process's module set-up: bin/paths.js in a build, the transpiling hooks from the sources. */
function spawnWorker(options: EmbeddedNodeOptions): Worker {
  const compiled = __filename.endsWith('.js');
  const root = resolve(__dirname, compiled ? '../../../..' : '../../..');
  const setup = compiled ? join(root, 'bin', 'paths.js') : join(root, 'test', 'support', 'ts-hooks.js');
  const entry = join(__dirname, compiled ? 'node.worker.js' : 'node.worker.ts');
  const code = [setup, entry].map((f) => `require(${JSON.stringify(f)});`).join(' ');
  return new Worker(code, { eval: true, workerData: options });
}

/** Starts the node in a thread; resolves once it listens, rejects as `startEmbeddedNode` would (a held data directory: DataDirLockedError). */
export function startEmbeddedNodeThread(options: EmbeddedNodeOptions, onDeath: (cause: string) => void): Promise<EmbeddedNodeThread> {
  const worker = spawnWorker(options);
  const probes = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let nextProbe = 1;
  let failure: WriteFailure | undefined;
  let closing: Promise<void> | undefined;
  let closed = false;
  let closeDone: (() => void) | undefined;
  return new Promise<EmbeddedNodeThread>((resolveStart, rejectStart) => {
    let started = false;
    worker.on('message', (m: FromNodeThread) => {
      switch (m.kind) {
        case 'ready':
          started = true;
          resolveStart({
            connectionString: m.connectionString,
            port: m.port,
            secure: m.secure,
            probeWrite: () =>
              new Promise<void>((res, rej) => {
                if (closing) return rej(new Error('store is closed'));
                const id = nextProbe++;
                probes.set(id, { resolve: res, reject: rej });
                worker.postMessage({ kind: 'probe', id } satisfies ToNodeThread);
              }),
            get lastWriteFailure() {
              return failure;
            },
            close: () =>
              (closing ??= new Promise<void>((res) => {
                if (closed) return res();
                closeDone = res;
                worker.postMessage({ kind: 'close' } satisfies ToNodeThread);
              })),
          });
          return;
        case 'failed':
          rejectStart(m.locked ? new DataDirLockedError(m.message, m.locked.holder) : new Error(m.message));
          return;
        case 'probed': {
          const p = probes.get(m.id);
          probes.delete(m.id);
          if (!p) return;
          if (m.error) p.reject(Object.assign(new Error(m.error.message), m.error.code !== undefined ? { code: m.error.code } : {}));
          else p.resolve();
          return;
        }
        case 'writeFailure':
          failure = m.failure ? { ...m.failure, at: new Date(m.failure.at) } : undefined;
          return;
        case 'closed':
          // The store is closed (its lock released): nothing left to wait for in the thread.
          closed = true;
          void worker.terminate().finally(() => closeDone?.());
          return;
      }
    });
    const died = (cause: string) => {
      closeDone?.();
      if (closed) return;
      closed = true;
      for (const p of probes.values()) p.reject(new Error(`embedded node thread ended: ${cause}`));
      probes.clear();
      if (!started) rejectStart(new Error(`the embedded node thread ended before it listened: ${cause}`));
      else if (!closing) onDeath(cause);
    };
    worker.on('error', (err) => died(err.stack ?? String(err)));
    worker.on('exit', (code) => died(`exit code ${code}`));
  });
}
