/**
 * What the API needs from its composition root, injected under one token. The root (cairn start,
 * cairn api, tests) decides whether the event store is embedded and whether projectors run here.
 */
import type { CairnConfig } from '@cairn/config';
import type { CairnEventStore, IngestIndex } from '@cairn/event-store';
import type { CairnOperations, ProjectionRules, ProjectorStatus } from '@cairn/projections';
import type { ReadStore } from '@cairn/read-models';
import type { KeyStore, Logger, PersonalDataVault } from '@cairn/runtime';

/** Projection progress as the API sees it: projectors in this process, or checkpoints in the read store. */
export interface ProjectionMonitor {
  statuses(): Promise<ProjectorStatus[]>;
  /** Resolves true once every projection's checkpoint reaches `position`, false after `timeoutMs`. */
  waitFor(position: bigint, timeoutMs: number): Promise<boolean>;
}

export interface CairnRuntime {
  readonly config: CairnConfig;
  readonly events: CairnEventStore;
  readonly readStore: ReadStore;
  /** Which event ids are already stored (libs/event-store ingest-index.ts: its own file beside a SQLite read store). */
  readonly ingestIndex: IngestIndex;
  readonly keys: KeyStore;
  /** Personal values sealed on ingest and opened for readers; erasures (docs/privacy.md). */
  readonly vault: PersonalDataVault;
  readonly logger: Logger;
  readonly projections: ProjectionMonitor;
  /** What /health/ready checks beyond a read on each store. */
  readonly readiness?: {
    /** Embedded node: a synced tiny write to its log's database (disk full, I/O errors show here). */
    readonly probeEventStoreWrite?: () => void | Promise<void>;
    /** Embedded node: the last failed append (cleared by the next successful one). */
    readonly lastEventStoreWriteFailure?: () => { code: string | undefined; at: Date } | undefined;
    /** Local directories (embedded log, SQLite read models) whose free space is watched. */
    readonly disks: readonly string[];
  };
  /**
   * Set when the process runs its background work (segment evaluation, the daily RFM run) beside
   * the projection engine in its thread: the API then only nudges it. Absent: it runs in the API.
   */
  readonly background?: { tickSegments(): void };
  /** Rebuilds, replays, parked events, projection health (absent: the admin operations answer 503). */
  readonly operations?: CairnOperations<ProjectionRules>;
}

export const RUNTIME = Symbol('CAIRN_RUNTIME');
