/**
 * The projection engine of `cairn start` in a worker thread, so the main event loop serves HTTP
 * (and the embedded node) only: folding, row building and the read store's projector
 * transactions happen on the other core, and so does the background work beside it (segment
 * evaluation and its outbox, the daily RFM run).
 *
 * The thread connects to the event store by its connection string and opens the read store
 * itself (its own SQLite connections or PostgreSQL pool); nothing but small messages crosses:
 * the thread posts its projections' statuses after every commit and every half second, and
 * answers calls (pause, resume, retry parked, stop). `waitFor` (read-your-writes) resolves on
 * those status messages.
 *
 * Supervised: if the thread dies (an uncaught error, out of memory), its projections show state
 * `failed` with the cause in `lastError`, calls fail with CAIRN.UNAVAILABLE, and a new thread is
 * started after a back-off (1 s, doubling to 30 s); it resumes from the committed checkpoints,
 * so nothing is lost or applied twice. `restarts` counts them (in /v1/projections and the log).
 */
import { Worker } from 'worker_threads';
import { join, resolve } from 'path';
import { CairnError, ERROR_CODES, type ErrorCode } from '@cairn/domain';
import { PositionWaiters, type LiveProjector, type ProjectorStatus, type RetryResult } from '@cairn/projections';
import type { Logger } from '@cairn/runtime';
import { PROJECTOR_THREAD_DIED } from '@cairn/api';

/** Everything the thread needs, as plain data (the typed config does not cross threads). */
export interface ProjectorThreadSettings {
  readonly eventStore: string;
  readonly readModelUrl: string;
  readonly rules: { readonly currency: string; readonly timezone: string; readonly sharedDeviceLimit: number };
  readonly batchSize: number;
  readonly batchMs: number;
  readonly memoryBudgetMb: number;
  /** The thread's V8 old-generation limit (CAIRN_PROJECTOR_HEAP_MB): its heap stops growing there instead of holding garbage. */
  readonly heapMb: number;
  readonly logLevel: string;
  /** The background work that runs beside the engine (the API then only nudges it). */
  readonly segments: { readonly sweepIntervalMs: number; readonly pollMs: number; readonly lifecycle: { readonly newDays: number; readonly activeDays: number; readonly lapsedDays: number } };
  /** null: no daily RFM run. */
  readonly rfm: { readonly windowDays: number } | null;
}

export type ToThread = { readonly kind: 'call'; readonly id: number; readonly method: 'pause' | 'resume' | 'retryParked' | 'tickSegments' | 'stop'; readonly args: readonly unknown[] };
export type FromThread =
  | { readonly kind: 'status'; readonly statuses: ProjectorStatus[] }
  | { readonly kind: 'ready'; readonly statuses: ProjectorStatus[] }
  | { readonly kind: 'reply'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly kind: 'reply'; readonly id: number; readonly ok: false; readonly error: string; readonly code?: ErrorCode; readonly details?: Readonly<Record<string, unknown>> };

const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;

/**
 * The worker script, behind the same module set-up as the process: in a build, bin/paths.js (the
 * @cairn/* aliases over dist/); from the TypeScript sources (specs), the on-the-fly transpiler.
 */
function spawnWorker(settings: ProjectorThreadSettings): Worker {
  const compiled = __filename.endsWith('.js');
  // dist/apps/cli/src → the repository root; apps/cli/src → the same.
  const root = resolve(__dirname, compiled ? '../../../..' : '../../..');
  const setup = compiled ? join(root, 'bin', 'paths.js') : join(root, 'test', 'support', 'ts-hooks.js');
  const entry = join(__dirname, compiled ? 'projector.worker.js' : 'projector.worker.ts');
  const code = [setup, require.resolve('reflect-metadata'), entry].map((f) => `require(${JSON.stringify(f)});`).join(' ');
  // Without a limit V8 let the thread's heap grow to hundreds of MB of uncollected garbage under
  // sustained ingest (the soak bench: 120 → 360 MB in two minutes, with 50–240 MB live); with one it
  // collects sooner. Reaching it with a live set that big ends the thread, and the supervisor below
  // restarts it from the checkpoints.
  return new Worker(code, { eval: true, workerData: settings, resourceLimits: { maxOldGenerationSizeMb: settings.heapMb } });
}

export class ProjectorThread implements LiveProjector {
  private worker: Worker | null = null;
  private statuses: ProjectorStatus[];
  private readonly names: ReadonlySet<string>;
  private readonly calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly waiters = new PositionWaiters((position) => this.reached(position));
  private nextId = 1;
  private stopping = false;
  private backoff = FIRST_BACKOFF_MS;
  private restartTimer: NodeJS.Timeout | null = null;
  private crashes = 0;
  private everReady = false;

  private constructor(
    private readonly settings: ProjectorThreadSettings,
    projections: readonly { name: string; version: number }[],
    private readonly logger: Logger,
  ) {
    this.names = new Set(projections.map((p) => p.name));
    this.statuses = projections.map((p) => ({ name: p.name, version: p.version, state: 'starting', checkpoint: null, eventsProcessed: 0, rate: 0, lastError: null }));
  }

  /** Starts the thread; resolves once its engine has started (or rejects with why it could not). */
  static async start(settings: ProjectorThreadSettings, projections: readonly { name: string; version: number }[], logger: Logger): Promise<ProjectorThread> {
    const thread = new ProjectorThread(settings, projections, logger);
    await thread.spawn();
    return thread;
  }

  /** Threads that died and were started again since this process started. */
  get restarts(): number {
    return this.crashes;
  }

  has(name: string): boolean {
    return this.names.has(name);
  }

  status(): ProjectorStatus[] {
    return this.statuses;
  }

  statusOf(name: string): ProjectorStatus | undefined {
    return this.statuses.find((s) => s.name === name);
  }

  waitFor(position: bigint, timeoutMs: number): Promise<boolean> {
    return this.waiters.wait(position, timeoutMs);
  }

  pause(name: string): Promise<void> {
    return this.call('pause', [name]) as Promise<void>;
  }

  resume(name: string): Promise<void> {
    return this.call('resume', [name]) as Promise<void>;
  }

  retryParked(name: string, eventIds?: readonly string[]): Promise<RetryResult> {
    return this.call('retryParked', [name, eventIds]) as Promise<RetryResult>;
  }

  /** Segments were defined or deleted: evaluate now rather than at the next poll (best effort). */
  tickSegments(): void {
    this.call('tickSegments', []).catch(() => undefined);
  }

  /** Commits the thread's batch, closes its stores and ends it; no restart afterwards. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const worker = this.worker;
    if (worker === null) return;
    const exited = new Promise<void>((r) => worker.once('exit', () => r()));
    try {
      await this.call('stop', []);
    } catch (err) {
      this.logger.warn({ err }, 'projector thread did not stop cleanly; the next start resumes from its last commit');
    }
    await worker.terminate();
    await exited;
  }

  /** Terminates the thread as a crash would (fault specs); it is restarted like after any death. */
  async kill(): Promise<void> {
    const worker = this.worker;
    if (worker === null) return;
    const exited = new Promise<void>((r) => worker.once('exit', () => r()));
    await worker.terminate();
    await exited;
  }

  private reached(position: bigint): boolean {
    // While the thread is down nothing is being applied: a read waits for the next thread.
    if (this.worker === null) return false;
    return this.statuses.every((s) => s.state === 'failed' || s.state === 'paused' || (s.checkpoint !== null && s.checkpoint >= position));
  }

  private call(method: ToThread['method'], args: readonly unknown[]): Promise<unknown> {
    const worker = this.worker;
    if (worker === null) return Promise.reject(new CairnError(ERROR_CODES.UNAVAILABLE, 'the projector thread is restarting; try again shortly', { component: 'projector' }));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      worker.postMessage({ kind: 'call', id, method, args } satisfies ToThread);
    });
  }

  private spawn(): Promise<void> {
    const worker = spawnWorker(this.settings);
    this.worker = worker;
    let ready = false;
    return new Promise<void>((resolveStart, rejectStart) => {
      worker.on('message', (m: FromThread) => {
        if (m.kind === 'reply') {
          const call = this.calls.get(m.id);
          this.calls.delete(m.id);
          if (m.ok) call?.resolve(m.value);
          // A CairnError keeps its code (a wrong projection name stays a 404); anything else is the thread's failure.
          else call?.reject(m.code ? new CairnError(m.code, m.error, m.details) : new Error(m.error));
          return;
        }
        this.statuses = m.statuses;
        if (m.kind === 'ready' && !ready) {
          ready = true;
          this.everReady = true;
          this.backoff = FIRST_BACKOFF_MS;
          resolveStart();
        }
        this.waiters.check();
      });
      let cause = 'exited';
      worker.on('error', (err) => {
        cause = err instanceof Error ? err.message : String(err);
      });
      worker.once('exit', (code) => {
        this.worker = null;
        for (const call of this.calls.values()) call.reject(new CairnError(ERROR_CODES.UNAVAILABLE, 'the projector thread ended during the call', { component: 'projector' }));
        this.calls.clear();
        if (this.stopping) return;
        const lastError = `${PROJECTOR_THREAD_DIED}${cause} (exit code ${code})`;
        if (!ready) rejectStart(new Error(lastError));
        // The first start's failure is the caller's to report; a restarted thread is retried until it runs.
        if (!this.everReady) return;
        this.crashes += 1;
        this.statuses = this.statuses.map((s) => ({ ...s, state: 'failed', rate: 0, lastError }));
        this.logger.error({ code, cause, restartInMs: this.backoff, restarts: this.crashes }, 'projector thread died; starting a new one from the committed checkpoints');
        const delay = this.backoff;
        this.backoff = Math.min(MAX_BACKOFF_MS, this.backoff * 2);
        this.restartTimer = setTimeout(() => {
          this.restartTimer = null;
          if (this.stopping) return;
          this.spawn().catch((err: unknown) => {
            this.logger.error({ err }, 'projector thread could not start');
          });
        }, delay);
      });
    });
  }
}
