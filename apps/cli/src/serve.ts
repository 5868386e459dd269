/** `cairn start | api | projector`: run Cairn (or one part of it) until SIGTERM/SIGINT. */
import { loadConfig } from '@cairn/config';
import { composeCairn, type ComposeOptions } from './compose';
import { parseFlags } from './flags';

const FLAGS = {
  port: 'PORT',
  'data-dir': 'CAIRN_DATA_DIR',
  'esdb-port': 'CAIRN_ESDB_PORT',
  'event-store': 'CAIRN_EVENTSTORE',
  'read-model': 'CAIRN_READ_MODEL',
} as const;

export function serveCommand(parts: Pick<ComposeOptions, 'api' | 'projector'>) {
  return async (args: string[]): Promise<void> => {
    const flags = parseFlags(args, Object.keys(FLAGS));
    const config = loadConfig(process.env, {
      port: flags.port,
      dataDir: flags['data-dir'],
      esdbPort: flags['esdb-port'],
      eventStore: flags['event-store'],
      readModel: flags['read-model'],
    });
    if (!parts.api && config.eventStore === undefined) {
      throw new Error('cairn projector needs CAIRN_EVENTSTORE (or --event-store): the node started by `cairn api`, or a real EventStoreDB');
    }
    const cairn = await composeCairn(config, { ...parts, projectorThread: config.projectorThread === 'on' });
    if (cairn.createdAdminKey) {
      process.stdout.write(
        `\nCreated an admin API key (stored hashed in the read store; shown only this once):\n\n    ${cairn.createdAdminKey}\n\n` +
          `Use it as: Authorization: Bearer ${cairn.createdAdminKey}\n\n`,
      );
    }
    if (cairn.url) process.stdout.write(`Cairn API on ${cairn.url} (docs: ${cairn.url}/docs)\nConsole: ${cairn.url}/console\n`);
    process.stdout.write(`Event store: ${cairn.connectionString}\n`);

    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        cairn.runtime.logger.info({ signal }, 'shutting down: draining in-flight requests and the projector batch');
        const timer = setTimeout(() => {
          cairn.runtime.logger.error('shutdown timed out');
          process.exit(1);
        }, config.shutdownTimeoutMs);
        timer.unref();
        void cairn.close().then(resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
  };
}
