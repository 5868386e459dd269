/** `cairn start | api | projector`: run Cairn (or one part of it) until SIGTERM/SIGINT. */
import { resolve as resolvePath } from 'path';
import { loadConfig } from '@cairn/config';
import { composeCairn, type ComposeOptions } from './compose';
import { serveProjectorHealth, type ProjectorHealth } from './projector-health';
import type { MainIo } from './main';

/** The flags of `cairn start | api | projector`; each overrides its environment variable. */
export interface ServeFlags {
  readonly port?: string;
  readonly dataDir?: string;
  readonly esdbPort?: string;
  readonly eventStore?: string;
  readonly readModel?: string;
}

export async function serveCommand(parts: Pick<ComposeOptions, 'api' | 'projector'>, io: Pick<MainIo, 'out' | 'env'>, flags: ServeFlags): Promise<void> {
  const config = loadConfig(io.env, flags);
  if (!parts.api && config.eventStore === undefined) {
    throw new Error('cairn projector needs CAIRN_EVENTSTORE (or --event-store): the node started by `cairn api`, or a real EventStoreDB');
  }
  const cairn = await composeCairn(config, { ...parts, projectorThread: config.projectorThread === 'on', nodeThread: config.nodeThread === 'on' });
  if (cairn.createdAdminKey) {
    io.out.write(
      `\nCreated an admin API key (stored hashed in the read store; shown only this once):\n\n    ${cairn.createdAdminKey}\n\n` +
        `Use it as: Authorization: Bearer ${cairn.createdAdminKey}\n\n`,
    );
  }
  // `cairn projector` alone serves no API: its health gets a port of its own.
  let health: ProjectorHealth | null = null;
  if (!parts.api && config.projectorHealthPort !== 'off') {
    try {
      health = await serveProjectorHealth({ events: cairn.runtime.events, readStore: cairn.runtime.readStore, engine: cairn.engine, logger: cairn.runtime.logger }, config.projectorHealthPort, config.host);
    } catch (err) {
      await cairn.close();
      throw new Error(`CAIRN_PROJECTOR_HEALTH_PORT: cannot listen on ${config.projectorHealthPort} (${(err as Error).message}); choose another port, or off`);
    }
  }
  const healthHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  // One write: a reader of the pipe (a supervisor, a test) sees the addresses and the data directory together.
  io.out.write(
    (cairn.url ? `Cairn API on ${cairn.url} (docs: ${cairn.url}/docs)\nConsole: ${cairn.url}/console\n` : '') +
      (health ? `Projector health on http://${healthHost}:${health.port}/health/ready\n` : '') +
      `Event store: ${cairn.connectionString}\n` +
      `Data directory: ${resolvePath(config.dataDir)}${config.eventStore === undefined ? ' (embedded node: eventstore/)' : ''}; read models: ${config.readModelUrl.replace(/\/\/[^@/]*@/, '//…@')}\n`,
  );

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
      void (health?.close() ?? Promise.resolve()).then(() => cairn.close()).then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
