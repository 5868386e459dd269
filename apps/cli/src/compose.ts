/**
 * Cairn's composition root: wires the event store (embedded or real), the read store, API keys,
 * the projector and the HTTP API into one process, or any subset of them (`cairn api`,
 * `cairn projector`). Shutdown drains in the safe order: HTTP first (in-flight appends finish),
 * then the projector's batch, then the stores.
 */
import type { INestApplication } from '@nestjs/common';
import { mkdirSync } from 'fs';
import type { AddressInfo } from 'net';
import { resolve } from 'path';
import { createApiApp, type CairnRuntime, type ProjectionMonitor } from '@cairn/api';
import type { CairnConfig } from '@cairn/config';
import { CairnOperations, ProjectionEngine, cairnProjections, cairnWhatIfAreas, type LiveProjector, type ProjectionRules, type ProjectorStatus } from '@cairn/projections';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { ingestIndexPath, openSqliteIngestIndex, readStoreIngestIndex, type IngestIndex } from '@cairn/event-store';
import { listCheckpoints, openReadStore, parseReadStoreUrl, readCheckpoint, redact, type ReadStore } from '@cairn/read-models';
import { KeyStore, PersonalDataVault, createLogger, loadKeyEncryptionKey, openEventStore, waitForComponent, type Logger, type OpenedEventStore } from '@cairn/runtime';
import { ProjectorThread } from './projector-thread';

export interface CairnProcess {
  /** Base URL of the API, when it runs here. */
  readonly url: string | null;
  readonly connectionString: string;
  readonly runtime: CairnRuntime;
  /** The projection engine (on this thread or in the projector thread), when projections run in this process. */
  readonly engine: LiveProjector | null;
  /** An admin key created on this start (printed once by the CLI), else null. */
  readonly createdAdminKey: string | null;
  close(): Promise<void>;
}

export interface ComposeOptions {
  readonly api: boolean;
  readonly projector: boolean;
  /** Embedded node in memory (tests). */
  readonly memoryEventStore?: boolean;
  readonly logger?: Logger;
  /**
   * With the API: run the projection engine in a worker thread (CAIRN_PROJECTOR_THREAD, default
   * on for `cairn start`). In-process specs leave it off: they compose from the sources.
   */
  readonly projectorThread?: boolean;
  /** The embedded node in a worker thread (CAIRN_NODE_THREAD, default on for `cairn start` and `cairn api`). */
  readonly nodeThread?: boolean;
}

function localMonitor(engine: LiveProjector): ProjectionMonitor {
  return {
    statuses: async () => engine.status(),
    waitFor: (position, timeoutMs) => engine.waitFor(position, timeoutMs),
  };
}

/** For an API whose projector runs elsewhere: progress is read from the checkpoints table. */
function storeMonitor(store: ReadStore, projections: readonly { name: string; version: number }[]): ProjectionMonitor {
  return {
    statuses: async () => {
      const rows = await listCheckpoints(store.db);
      return projections.map((p): ProjectorStatus => {
        const row = rows.find((r) => r.projection === p.name);
        return { name: p.name, version: p.version, state: 'remote', checkpoint: row?.position ?? null, eventsProcessed: row?.eventsProcessed ?? 0, rate: 0, lastError: null };
      });
    },
    waitFor: async (position, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const positions = await Promise.all(projections.map((p) => readCheckpoint(store.db, p.name)));
        if (positions.every((c) => c !== null && c >= position)) return true;
        if (Date.now() >= deadline) return false;
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

export async function composeCairn(config: CairnConfig, options: ComposeOptions): Promise<CairnProcess> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch((err) => logger.error({ err }, 'error while closing'));
  };
  try {
    // Private from the start: keys, the log and SQLite read models live here.
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    const store: OpenedEventStore = await openEventStore(config, {
      memory: options.memoryEventStore,
      ...(options.nodeThread
        ? {
            thread: {
              // The log is gone with its thread: exit, so that a supervisor starts Cairn again (every acknowledged append is synced).
              onDeath: (cause: string) => {
                logger.fatal({ cause }, 'the embedded node thread died: exiting');
                process.exit(1);
              },
            },
          }
        : {}),
    });
    closers.push(() => store.close());
    if (!store.embedded) {
      // The client connects lazily: "ready" only once the event store has answered a read.
      await waitForComponent('event store', store.connectionString, () => withTimeout(store.events.ping(), 5000, 'event store'), {
        timeoutMs: config.startupTimeoutMs,
        logger,
      });
    }
    logger.info({ connectionString: store.connectionString, embedded: store.embedded }, 'event store ready');

    const readStore = await waitForComponent('read store', redact(config.readModelUrl), () => openReadStore(config.readModelUrl), {
      timeoutMs: config.startupTimeoutMs,
      logger,
      retryable: (err) => err instanceof CairnError && err.code === ERROR_CODES.UNAVAILABLE,
    });
    closers.push(() => readStore.close());
    logger.info({ kind: readStore.kind }, 'read store ready');
    const readTarget = parseReadStoreUrl(config.readModelUrl);

    const ingestIndex: IngestIndex =
      readTarget.kind === 'sqlite' && readTarget.path !== ':memory:'
        ? openSqliteIngestIndex(ingestIndexPath(readTarget.path), readTarget.path)
        : readStoreIngestIndex(readStore.db);
    closers.push(() => ingestIndex.close());

    const vault = await PersonalDataVault.open(readStore, loadKeyEncryptionKey(config, logger), logger);
    const { keys, created } = await KeyStore.open(readStore, { dataDir: config.dataDir, adminKey: config.adminKey, logger, createFirst: options.api });

    const projectionRules: ProjectionRules = { currency: config.currency, timezone: config.timezone, sharedDeviceLimit: config.identitySharedDeviceLimit };
    // Replays build the same projections under other rules (what-if), so the registry is kept as a function.
    const projectionsFor = (rules: ProjectionRules) => cairnProjections(rules);
    const projections = projectionsFor(projectionRules);
    let engine: LiveProjector | null = null;
    let background: ProjectorThread | undefined;
    // A thread opens the read store itself: an in-memory SQLite database cannot be shared with it.
    const threadable = readTarget.kind === 'postgres' || readTarget.path !== ':memory:';
    if (options.projector && options.api && options.projectorThread && threadable) {
      const thread = await ProjectorThread.start(
        {
          eventStore: store.connectionString,
          readModelUrl: config.readModelUrl,
          rules: { currency: config.currency, timezone: config.timezone, sharedDeviceLimit: config.identitySharedDeviceLimit },
          batchSize: config.projectorBatchSize,
          batchMs: config.projectorBatchMs,
          memoryBudgetMb: config.projectorMemoryMb,
          heapMb: config.projectorHeapMb,
          logLevel: config.logLevel,
          segments: {
            sweepIntervalMs: config.segmentIntervalMs,
            pollMs: config.segmentPollMs,
            lifecycle: { newDays: config.lifecycleNewDays, activeDays: config.lifecycleActiveDays, lapsedDays: config.lifecycleLapsedDays },
          },
          rfm: config.rfmSchedule === 'daily' ? { windowDays: config.rfmWindowDays } : null,
        },
        projections,
        logger,
      );
      engine = thread;
      background = thread;
      closers.push(() => thread.stop());
      logger.info({ projections: projections.map((p) => `${p.name} v${p.version}`) }, 'projection engine started in its thread');
    } else if (options.projector) {
      const running = new ProjectionEngine(store.events, readStore, projections, {
        batchSize: config.projectorBatchSize,
        batchMs: config.projectorBatchMs,
        memoryBudgetMb: config.projectorMemoryMb,
        log: (level, msg, fields) => logger[level](fields ?? {}, msg),
      });
      await running.start();
      engine = running;
      closers.push(() => running.stop());
      logger.info({ projections: projections.map((p) => `${p.name} v${p.version}`) }, 'projection engine started');
    }

    const operations = new CairnOperations({
      events: store.events,
      live: { store: readStore, url: config.readModelUrl },
      rules: projectionRules,
      projectionsFor,
      whatIfAreas: cairnWhatIfAreas({ lifecycle: { newDays: config.lifecycleNewDays, activeDays: config.lifecycleActiveDays, lapsedDays: config.lifecycleLapsedDays }, rfmWindowDays: config.rfmWindowDays }),
      engine,
      log: (level, msg, fields) => logger[level](fields ?? {}, msg),
    });
    // Closers run in reverse: running rebuilds stop (resumable) before the projectors and stores.
    closers.push(() => operations.close());

    const runtime: CairnRuntime = {
      vault,
      operations,
      config,
      events: store.events,
      readStore,
      ingestIndex,
      keys,
      logger,
      projections: engine ? localMonitor(engine) : storeMonitor(readStore, projections),
      ...(background ? { background } : {}),
      readiness: {
        ...(store.probeWrite ? { probeEventStoreWrite: () => store.probeWrite!() } : {}),
        ...(store.lastWriteFailure ? { lastEventStoreWriteFailure: () => store.lastWriteFailure!() } : {}),
        // Local directories whose free space readiness watches: the embedded log, SQLite read models.
        disks: [
          ...(store.dataDir ? [store.dataDir] : []),
          ...(readTarget.kind === 'sqlite' && readTarget.path !== ':memory:' ? [resolve(readTarget.path, '..')] : []),
        ].filter((d, i, all) => all.indexOf(d) === i),
      },
    };

    let url: string | null = null;
    if (options.api) {
      const app: INestApplication = await createApiApp(runtime);
      await app.listen(config.port, config.host);
      closers.push(async () => {
        // Stop accepting, let in-flight requests (and their appends) finish; connections still
        // open after half the shutdown budget are cut so a stuck client cannot hold shutdown.
        const server = app.getHttpServer() as import('http').Server;
        const cut = setTimeout(() => server.closeAllConnections(), Math.max(100, config.shutdownTimeoutMs / 2));
        cut.unref();
        await app.close();
        clearTimeout(cut);
      });
      const address = app.getHttpServer().address() as AddressInfo;
      const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
      url = `http://${host}:${address.port}`;
      logger.info({ url }, 'API listening');
    }

    let closed: Promise<void> | null = null;
    return {
      url,
      connectionString: store.connectionString,
      runtime,
      engine,
      createdAdminKey: created,
      close: () => (closed ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}
