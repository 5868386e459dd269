import { mkdirSync } from 'fs';
import { resolve } from 'path';
import type { CairnConfig } from '@cairn/config';
import { startEmbeddedNode } from '@cairn/esdb-embedded';
import { CairnEventStore } from '@cairn/event-store';

export interface OpenedEventStore {
  readonly events: CairnEventStore;
  readonly connectionString: string;
  /** True when this process runs the embedded node. */
  readonly embedded: boolean;
  close(): Promise<void>;
}

/**
 * With CAIRN_EVENTSTORE set, connects to that EventStoreDB. Without it, starts the embedded
 * EventStoreDB-protocol node (data under `<dataDir>/eventstore`) and connects to it the same way:
 * the application only ever talks through the real client.
 */
export async function openEventStore(config: CairnConfig, opts: { memory?: boolean } = {}): Promise<OpenedEventStore> {
  if (config.eventStore !== undefined) {
    const events = CairnEventStore.connect(config.eventStore);
    return { events, connectionString: config.eventStore, embedded: false, close: () => events.close() };
  }
  const dataDir = opts.memory ? undefined : resolve(config.dataDir, 'eventstore');
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const node = await startEmbeddedNode({ dataDir, port: config.esdbPort, host: '127.0.0.1' });
  const events = CairnEventStore.connect(node.connectionString);
  return {
    events,
    connectionString: node.connectionString,
    embedded: true,
    close: async () => {
      await events.close();
      await node.close();
    },
  };
}
