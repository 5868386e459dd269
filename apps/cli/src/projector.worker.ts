/**
 * The projector thread's body (see projector-thread.ts): the projection engine over its own
 * event-store client and read store, reporting statuses and answering calls by message.
 */
import { parentPort, workerData } from 'worker_threads';
import { CairnError } from '@cairn/domain';
import { CairnEventStore } from '@cairn/event-store';
import { DailyRfmSchedule, ProjectionEngine, SegmentEngine, cairnProjections } from '@cairn/projections';
import { openReadStore } from '@cairn/read-models';
import { createLogger } from '@cairn/runtime';
import type { FromThread, ProjectorThreadSettings, ToThread } from './projector-thread';

async function run(settings: ProjectorThreadSettings): Promise<void> {
  const port = parentPort!;
  const logger = createLogger(settings.logLevel).child({ thread: 'projector' });
  const events = CairnEventStore.connect(settings.eventStore);
  const store = await openReadStore(settings.readModelUrl);
  const post = (m: FromThread) => port.postMessage(m);
  let engine: ProjectionEngine | null = null;
  const report = () => engine && post({ kind: 'status', statuses: engine.status() });
  engine = new ProjectionEngine(events, store, cairnProjections(settings.rules), {
    batchSize: settings.batchSize,
    batchMs: settings.batchMs,
    memoryBudgetMb: settings.memoryBudgetMb,
    log: (level, msg, fields) => logger[level](fields ?? {}, msg),
    onProgress: report,
  });
  const running = engine;
  const segments = new SegmentEngine(store, events, { ...settings.segments, log: (level, msg, fields) => logger[level](fields ?? {}, msg) });
  const rfm = settings.rfm ? new DailyRfmSchedule(store, { timezone: settings.rules.timezone, windowDays: settings.rfm.windowDays, log: (level, msg, fields) => logger[level](fields, msg) }) : null;
  let ticker: NodeJS.Timeout | undefined;
  port.on('message', (m: ToThread) => {
    const work = (): Promise<unknown> => {
      switch (m.method) {
        case 'pause':
          return running.pause(m.args[0] as string);
        case 'resume':
          return running.resume(m.args[0] as string);
        case 'retryParked':
          return running.retryParked(m.args[0] as string, m.args[1] as readonly string[] | undefined);
        case 'tickSegments':
          return segments.tick();
        case 'stop':
          clearInterval(ticker);
          return Promise.allSettled([segments.stop(), rfm?.stop()])
            .then(() => running.stop())
            .finally(async () => {
              await events.close().catch(() => undefined);
              await store.close().catch(() => undefined);
            });
        default: {
          const never: never = m.method;
          return Promise.reject(new Error(`unknown call ${String(never)}`));
        }
      }
    };
    work().then(
      (value) => post({ kind: 'reply', id: m.id, ok: true, value }),
      (err: unknown) =>
        post({
          kind: 'reply',
          id: m.id,
          ok: false,
          error: err instanceof Error ? err.message : String(err),
          ...(err instanceof CairnError ? { code: err.code, ...(err.details ? { details: err.details } : {}) } : {}),
        }),
    );
  });
  await running.start();
  segments.start();
  rfm?.start();
  // Rates and states change between commits too.
  ticker = setInterval(report, 500);
  post({ kind: 'ready', statuses: running.status() });
}

run(workerData as ProjectorThreadSettings).catch((err: unknown) => {
  // Ends the thread with the cause; the supervising ProjectorThread reports it and starts another.
  throw err instanceof Error ? err : new Error(String(err));
});
