import { mkdirSync } from 'fs';
import type { CairnConfig } from '@cairn/config';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { DataDirLockedError, startEmbeddedNode, startEmbeddedNodeThread, type WriteFailure } from '@cairn/esdb-embedded';
import { CairnEventStore } from '@cairn/event-store';

export interface OpenedEventStore {
  readonly events: CairnEventStore;
  readonly connectionString: string;
  /** True when this process runs the embedded node. */
  readonly embedded: boolean;
  /** Embedded node only: the data directory of its log. */
  readonly dataDir?: string;
  /** Embedded node only: writes and syncs a tiny row (readiness: disk full, I/O errors). */
  probeWrite?(): void | Promise<void>;
  /** Embedded node only: the last failed append, until one succeeds again. */
  lastWriteFailure?(): WriteFailure | undefined;
  close(): Promise<void>;
}

/**
 * With CAIRN_EVENTSTORE set, connects to that EventStoreDB. Without it, starts the embedded
 * EventStoreDB-protocol node (data under `<dataDir>/eventstore`) and connects to it the same way:
 * the application only ever talks through the real client. A data directory already held by
 * another process is refused (CAIRN.CONFIG naming the holder).
 */
export async function openEventStore(config: CairnConfig, opts: { memory?: boolean; thread?: { onDeath(cause: string): void } } = {}): Promise<OpenedEventStore> {
  if (config.eventStore !== undefined) {
    const events = CairnEventStore.connect(config.eventStore);
    return { events, connectionString: config.eventStore, embedded: false, close: () => events.close() };
  }
  const dataDir = opts.memory ? undefined : config.eventStoreDir;
  if (dataDir) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  let node: { connectionString: string; probeWrite(): void | Promise<void>; readonly lastWriteFailure: WriteFailure | undefined; close(): Promise<void> };
  try {
    const options = { dataDir, port: config.esdbPort, host: '127.0.0.1' };
    // In a thread of its own (CAIRN_NODE_THREAD): the server's half of each append runs beside the caller's event loop.
    node = opts.thread && !opts.memory ? await startEmbeddedNodeThread(options, opts.thread.onDeath) : await startEmbeddedNode(options);
  } catch (err) {
    if (err instanceof DataDirLockedError) throw new CairnError(ERROR_CODES.CONFIG, err.message, { holder: err.holder });
    throw err;
  }
  const events = CairnEventStore.connect(node.connectionString);
  return {
    events,
    connectionString: node.connectionString,
    embedded: true,
    ...(dataDir ? { dataDir } : {}),
    probeWrite: () => node.probeWrite(),
    lastWriteFailure: () => node.lastWriteFailure,
    close: async () => {
      await events.close();
      await node.close();
    },
  };
}
