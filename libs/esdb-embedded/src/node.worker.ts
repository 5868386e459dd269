/** The embedded node thread's body (see node-thread.ts): the node, its readiness probe and its last write failure, by message. */
import { parentPort, workerData } from 'worker_threads';
import type { FromNodeThread, ToNodeThread } from './node-thread';
import { startEmbeddedNode, type EmbeddedNodeOptions } from './server';
import { DataDirLockedError, type WriteFailure } from './store';

/** How often the last write failure is looked at (readiness treats a failure as recent for a few seconds). */
const FAILURE_POLL_MS = 250;

async function run(options: EmbeddedNodeOptions): Promise<void> {
  const port = parentPort!;
  const post = (m: FromNodeThread) => port.postMessage(m);
  let node: Awaited<ReturnType<typeof startEmbeddedNode>>;
  try {
    node = await startEmbeddedNode(options);
  } catch (err) {
    const e = err as Error;
    post({ kind: 'failed', message: e.message, ...(err instanceof DataDirLockedError ? { locked: { holder: err.holder } } : {}) });
    port.close();
    return;
  }
  let reported: WriteFailure | undefined;
  const report = () => {
    const now = node.lastWriteFailure;
    if (now === reported) return;
    reported = now;
    post({ kind: 'writeFailure', failure: now ? { ...now, at: now.at.getTime() } : null });
  };
  const poll = setInterval(report, FAILURE_POLL_MS);
  port.on('message', (m: ToNodeThread) => {
    if (m.kind === 'probe') {
      try {
        node.probeWrite();
        post({ kind: 'probed', id: m.id });
      } catch (err) {
        const e = err as { message?: string; code?: unknown };
        post({ kind: 'probed', id: m.id, error: { message: String(e?.message ?? err), ...(typeof e?.code === 'string' ? { code: e.code } : {}) } });
      }
      report();
      return;
    }
    clearInterval(poll);
    void node.close().finally(() => {
      post({ kind: 'closed' });
      port.close();
    });
  });
  post({ kind: 'ready', connectionString: node.connectionString, port: node.port, secure: node.secure });
}

void run(workerData as EmbeddedNodeOptions);
