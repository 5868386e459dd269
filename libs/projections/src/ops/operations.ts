/**
 * Operations on projections for admins and analysts, over any `Projection`: health (state, lag,
 * rate, parked events, last error), parked events and their retry, rebuilds and replays (run as
 * jobs with progress). One instance per process, built by the composition root.
 */
import { randomUUID } from 'crypto';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import type { CairnEventStore } from '@cairn/event-store';
import { listCheckpoints } from '@cairn/read-models';
import type { Projection } from '../projection';
import type { LiveProjector, ProjectorState } from '../engine/engine';
import { countParked, listParked, requestRetry, type ParkedEvent, type RetryResult } from './parked';
import { RebuildJob, builtVersions, listRebuilds, type LiveStore, type RebuildStatus } from './rebuild';
import { runReplay, selectProjections, splitRules, type ReplayProgress, type ReplayRequest, type ReplaySummary } from './replay';
import type { WhatIfArea } from './what-if';

export interface ProjectionHealth {
  readonly name: string;
  readonly version: number;
  /** The version that built the rows served now, when a rebuild recorded it (else null). */
  readonly builtVersion: number | null;
  readonly state: ProjectorState;
  readonly checkpoint: string | null;
  readonly eventsProcessed: number;
  readonly lag: { events: number; capped: boolean; seconds: number };
  readonly rate: number;
  readonly lastError: string | null;
  readonly parked: number;
  readonly rebuild: Pick<RebuildStatus, 'id' | 'phase' | 'done' | 'total' | 'rate' | 'etaSeconds'> | null;
}

export interface ReplayJobStatus {
  readonly id: string;
  readonly state: 'running' | 'done' | 'failed';
  readonly request: ReplayRequest;
  readonly progress: ReplayProgress;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly error: string | null;
  readonly summary: ReplaySummary | null;
}

export interface OperationsDeps<R> {
  readonly events: CairnEventStore;
  readonly live: LiveStore;
  /** The live rules (what-if replays merge their overrides over them). */
  readonly rules: R;
  /** The registry: every projection under given rules (`cairnProjections`). */
  readonly projectionsFor: (rules: R) => Projection[];
  /** Areas whose what-if rules apply on read (the loyalty program, segment definitions…: `cairnWhatIfAreas`). */
  readonly whatIfAreas?: readonly WhatIfArea[];
  /** The projection engine this process runs (in-thread or in its projector thread), null when they run elsewhere. */
  readonly engine: LiveProjector | null;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

const LAG_CAP = 100_000;
const KEEP_REPLAYS = 20;

interface ReplayJob {
  status: ReplayJobStatus;
  files: ReadonlyMap<string, string> | null;
}

export class CairnOperations<R = unknown> {
  private readonly rebuilds = new Map<string, RebuildJob>();
  private readonly replays = new Map<string, ReplayJob>();

  constructor(private readonly deps: OperationsDeps<R>) {}

  projections(): Projection[] {
    return this.deps.projectionsFor(this.deps.rules);
  }

  private local(name: string): LiveProjector | undefined {
    return this.deps.engine?.has(name) ? this.deps.engine : undefined;
  }

  private runningRebuild(name: string): RebuildJob | undefined {
    for (const job of this.rebuilds.values()) {
      const s = job.status();
      if ((s.phase === 'building' || s.phase === 'switching') && job.projections.some((p) => p.name === name)) return job;
    }
    return undefined;
  }

  async health(): Promise<ProjectionHealth[]> {
    const db = this.deps.live.store.db;
    const [checkpoints, parked, built, recorded] = await Promise.all([listCheckpoints(db), countParked(db), builtVersions(db), listRebuilds(db, 100)]);
    // Rebuilds run by another process show through their row while its heartbeat is fresh.
    const freshAfter = new Date(Date.now() - 15_000).toISOString();
    const elsewhere = recorded.filter((r) => (r.status === 'building' || r.status === 'switching') && r.updated_at >= freshAfter);
    const now = Date.now();
    const projections = this.projections();
    const checkpointOf = (name: string) => {
      const local = this.local(name)?.statusOf(name);
      return local ? local.checkpoint : (checkpoints.find((c) => c.projection === name)?.position ?? null);
    };
    const lags = await this.deps.events.lagAfter(projections.map((p) => checkpointOf(p.name)), LAG_CAP);
    return Promise.all(
      projections.map(async (p, i): Promise<ProjectionHealth> => {
        const local = this.local(p.name)?.statusOf(p.name);
        const stored = checkpoints.find((c) => c.projection === p.name);
        const checkpoint = checkpointOf(p.name);
        const lag = lags[i];
        const row = elsewhere.find((r) => r.projections.split(',').includes(p.name));
        const job =
          this.runningRebuild(p.name)?.status() ??
          (row ? { id: row.job_id, phase: row.status as RebuildStatus['phase'], done: Number(row.events_done), total: 0, rate: 0, etaSeconds: null } : undefined);
        return {
          name: p.name,
          version: p.version,
          builtVersion: built.get(p.name) ?? null,
          state: job ? 'rebuilding' : (local?.state ?? 'remote'),
          checkpoint: checkpoint === null ? null : checkpoint.toString(),
          eventsProcessed: local?.eventsProcessed ?? stored?.eventsProcessed ?? 0,
          lag: { events: lag.count, capped: lag.capped, seconds: lag.oldestCreated ? Math.max(0, (now - lag.oldestCreated.getTime()) / 1000) : 0 },
          rate: local?.rate ?? 0,
          lastError: local?.lastError ?? null,
          parked: parked.get(p.name) ?? 0,
          rebuild: job ? { id: job.id, phase: job.phase, done: job.done, total: job.total, rate: job.rate, etaSeconds: job.etaSeconds } : null,
        };
      }),
    );
  }

  parked(opts: { projection?: string; limit?: number } = {}): Promise<ParkedEvent[]> {
    if (opts.projection !== undefined) selectProjections(this.projections(), [opts.projection]);
    return listParked(this.deps.live.store.db, opts);
  }

  /** Retries parked events (of one projection, or all), through the live projector when it runs here. */
  async retryParked(opts: { projection?: string; eventIds?: readonly string[] } = {}): Promise<RetryResult[]> {
    const targets = selectProjections(this.projections(), opts.projection === undefined ? [] : [opts.projection]);
    const results: RetryResult[] = [];
    for (const p of targets) {
      const local = this.local(p.name);
      results.push(local ? await local.retryParked(p.name, opts.eventIds) : await requestRetry(this.deps.live.store, p, opts.eventIds));
    }
    return results;
  }

  /** Starts (or resumes) a rebuild of the named projections ('all' = every one) and returns at once. */
  async startRebuild(names: readonly string[], opts: { keepOld?: boolean; batchSize?: number; strict?: boolean } = {}): Promise<RebuildStatus> {
    const all = this.projections();
    const chosen = names.length === 1 && names[0] === 'all' ? all : selectProjections(all, names);
    if (chosen.length === 0) throw new CairnError(ERROR_CODES.VALIDATION, 'nothing to rebuild', { fields: [{ field: 'projections', message: 'name at least one projection' }] });
    const job = await RebuildJob.start(
      {
        events: this.deps.events,
        live: this.deps.live,
        pauseLive: async (name) => this.local(name)?.pause(name),
        resumeLive: async (name) => this.local(name)?.resume(name),
        log: this.deps.log,
      },
      chosen,
      opts,
    );
    this.rebuilds.set(job.id, job);
    return job.status();
  }

  /** A rebuild's progress: from this process when it runs here, else as recorded in the live store. */
  async rebuild(id: string): Promise<RebuildStatus | Record<string, unknown>> {
    const job = this.rebuilds.get(id);
    if (job) return job.status();
    const row = (await listRebuilds(this.deps.live.store.db, 1000)).find((r) => r.job_id === id);
    if (!row) throw new CairnError(ERROR_CODES.NOT_FOUND, `no rebuild ${id}`);
    return {
      id: row.job_id,
      projections: row.projections.split(',').map((name) => ({ name })),
      phase: row.status,
      done: Number(row.events_done),
      startedAt: row.started_at,
      updatedAt: row.updated_at,
      finishedAt: row.finished_at,
      error: row.error,
      keepOld: Number(row.keep_old) === 1,
    };
  }

  /** Interrupts this process's running rebuilds (resumable) and waits for them: call on shutdown. */
  async close(): Promise<void> {
    await Promise.all([...this.rebuilds.values()].map((job) => job.abort()));
  }

  /** Waits for a rebuild started by this process (tests, CLI in-process). */
  async waitForRebuild(id: string): Promise<RebuildStatus> {
    const job = this.rebuilds.get(id);
    if (!job) throw new CairnError(ERROR_CODES.NOT_FOUND, `no rebuild ${id} running in this process`);
    return job.done;
  }

  /** What a replay's request is checked against before it starts: area rules naming live ids (a segment to change). */
  async checkReplay(request: ReplayRequest): Promise<void> {
    if (request.rules === undefined || request.rules === null || typeof request.rules !== 'object' || Array.isArray(request.rules)) return;
    const { byArea } = splitRules(this.deps.rules, request.rules, this.deps.whatIfAreas ?? [], selectProjections(this.projections(), request.projections));
    for (const { area, rules } of byArea) await area.check?.(rules, this.deps.live.store.db);
  }

  /** Starts a replay job; poll `replay(id)`, then read `replayFiles(id)`. */
  startReplay(request: ReplayRequest): ReplayJobStatus {
    // Validates names and rules now, so a bad request is a 400 rather than a failed job.
    const selected = selectProjections(this.projections(), request.projections);
    if (request.rules !== undefined && request.rules !== null && typeof request.rules === 'object' && !Array.isArray(request.rules)) splitRules(this.deps.rules, request.rules, this.deps.whatIfAreas ?? [], selected);
    const id = randomUUID();
    const job: ReplayJob = {
      status: {
        id,
        state: 'running',
        request,
        progress: { phase: 'reading', done: 0, total: 0, rate: 0, etaSeconds: null },
        startedAt: new Date().toISOString(),
        finishedAt: null,
        error: null,
        summary: null,
      },
      files: null,
    };
    this.replays.set(id, job);
    while (this.replays.size > KEEP_REPLAYS) this.replays.delete(this.replays.keys().next().value as string);
    void runReplay(
      this.deps.events,
      this.deps.projectionsFor,
      this.deps.rules,
      request,
      (progress) => {
        job.status = { ...job.status, progress };
      },
      { areas: this.deps.whatIfAreas ?? [], live: this.deps.live.store.db },
    ).then(
      (result) => {
        job.files = result.files;
        job.status = { ...job.status, state: 'done', finishedAt: new Date().toISOString(), summary: result.summary };
      },
      (err: unknown) => {
        job.status = { ...job.status, state: 'failed', finishedAt: new Date().toISOString(), error: err instanceof Error ? err.message : String(err) };
        this.deps.log?.('warn', 'replay failed', { replay: id, error: job.status.error });
      },
    );
    return job.status;
  }

  replay(id: string): ReplayJobStatus {
    const job = this.replays.get(id);
    if (!job) throw new CairnError(ERROR_CODES.NOT_FOUND, `no replay ${id}`);
    return job.status;
  }

  replayFiles(id: string): Record<string, string> {
    const job = this.replays.get(id);
    if (!job) throw new CairnError(ERROR_CODES.NOT_FOUND, `no replay ${id}`);
    if (!job.files) throw new CairnError(ERROR_CODES.NOT_FOUND, `replay ${id} has no output (state ${job.status.state})`);
    return Object.fromEntries([...job.files].sort(([a], [b]) => (a < b ? -1 : 1)));
  }
}
