/**
 * `cairn projector` serves no API, so it answers its own health on CAIRN_PROJECTOR_HEALTH_PORT
 * (default 3001), for a container healthcheck or an orchestrator's probes:
 *  - GET /health/live: 200 while the process's event loop answers (restart it only when this fails);
 *  - GET /health/ready: 200 while the event store answers a read, the read store a query, and no
 *    projection is `failed`; else 503 with `Retry-After` and Cairn's error shape naming each failing
 *    component (a failed projection by name, with its public error). Checked on each request, so it
 *    recovers by itself. Drivers' texts go to the log, never into the answer.
 */
import { createServer, type Server } from 'http';
import type { AddressInfo } from 'net';
import { ERROR_CODES } from '@cairn/domain';
import type { LiveProjector } from '@cairn/projections';
import { storeUnavailableReason, type ReadStore } from '@cairn/read-models';
import type { CairnEventStore } from '@cairn/event-store';
import type { Logger } from '@cairn/runtime';

const PROBE_TIMEOUT_MS = 2000;
const RETRY_AFTER_SECONDS = '5';

type Component = { status: 'up'; ms: number } | { status: 'down'; reason: string };

export interface ProjectorHealth {
  readonly port: number;
  close(): Promise<void>;
}

async function probe(component: string, check: () => Promise<void>, logger: Logger): Promise<Component> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([check(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), PROBE_TIMEOUT_MS)))]);
    return { status: 'up', ms: Date.now() - started };
  } catch (err) {
    const reason = (err as Error).message === 'timeout' ? `no answer within ${PROBE_TIMEOUT_MS} ms` : (storeUnavailableReason(err) ?? 'unavailable');
    logger.warn({ component, err }, `readiness: ${component} down (${reason})`);
    return { status: 'down', reason };
  } finally {
    clearTimeout(timer);
  }
}

export async function serveProjectorHealth(deps: { events: CairnEventStore; readStore: ReadStore; engine: LiveProjector | null; logger: Logger }, port: number, host: string): Promise<ProjectorHealth> {
  const ready = async () => {
    const [eventStore, readStore] = await Promise.all([probe('eventStore', () => deps.events.ping(), deps.logger), probe('readStore', () => deps.readStore.ping(), deps.logger)]);
    const failed = (deps.engine?.status() ?? []).filter((s) => s.state === 'failed');
    const projections: Component = failed.length === 0 ? { status: 'up', ms: 0 } : { status: 'down', reason: `failed: ${failed.map((s) => `${s.name}${s.lastError ? ` (${s.lastError})` : ''}`).join(', ')}` };
    return { eventStore, readStore, projections };
  };
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', ...(status === 503 ? { 'retry-after': RETRY_AFTER_SECONDS } : {}) });
      res.end(JSON.stringify(body));
    };
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { error: { code: ERROR_CODES.NOT_FOUND, message: 'only GET is served here' } });
    if (path === '/health/live') return send(200, { status: 'ok' });
    if (path === '/health/ready' || path === '/health') {
      void ready().then(
        (components) => {
          const failing = Object.entries(components).filter(([, c]) => c.status === 'down');
          if (failing.length === 0) return send(200, { status: 'ok', components });
          const names = failing.map(([name, c]) => `${name} (${(c as { reason: string }).reason})`).join(', ');
          send(503, { error: { code: ERROR_CODES.UNAVAILABLE, message: `not ready: ${names}`, components } });
        },
        (err: unknown) => {
          deps.logger.error({ err }, 'readiness check failed');
          send(503, { error: { code: ERROR_CODES.UNAVAILABLE, message: 'not ready: the check itself failed' } });
        },
      );
      return;
    }
    send(404, { error: { code: ERROR_CODES.NOT_FOUND, message: 'the projector serves /health/live and /health/ready only' } });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
