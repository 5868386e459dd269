import { mkdirSync } from 'fs';
import type { CairnConfig } from '@cairn/config';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { DataDirLockedError, startEmbeddedNode, type WriteFailure } from '@cairn/esdb-embedded';
import { CairnEventStore } from '@cairn/event-store';

export interface OpenedEventStore {
  readonly events: CairnEventStore;
  readonly connectionString: string;
  /** True when this process runs the embedded node. */
  readonly embedded: boolean;
  /** Embedded node only: the data directory of its log. */
  readonly dataDir?: string;
  /** Embedded node only: writes and syncs a tiny row (readiness: disk full, I/O errors). */
  probeWrite?(): void;
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
export async function openEventStore(config: CairnConfig, opts: { memory?: boolean } = {}): Promise<OpenedEventStore> {
  if (config.eventStore !== undefined) {
    const events = CairnEventStore.connect(config.eventStore);
    return { events, connectionString: config.eventStore, embedded: false, close: () => events.close() };
  }
  const dataDir = opts.memory ? undefined : config.eventStoreDir;
  if (dataDir) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  let node: Awaited<ReturnType<typeof startEmbeddedNode>>;
  try {
    node = await startEmbeddedNode({ dataDir, port: config.esdbPort, host: '127.0.0.1' });
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
