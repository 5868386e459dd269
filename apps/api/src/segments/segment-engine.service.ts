import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { SegmentEngine } from '@cairn/projections';
import { RUNTIME, type CairnRuntime } from '../runtime';

/**
 * The segment engine (dirty persons, new definitions, sweeps, the outbox): in the API process, or
 * in the process's projector thread (`cairn start`), which this then only nudges.
 */
@Injectable()
export class SegmentEngineService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly engine: SegmentEngine | null;

  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {
    const { config, logger } = runtime;
    this.engine = runtime.background
      ? null
      : new SegmentEngine(runtime.readStore, runtime.events, {
          sweepIntervalMs: config.segmentIntervalMs,
          pollMs: config.segmentPollMs,
          lifecycle: { newDays: config.lifecycleNewDays, activeDays: config.lifecycleActiveDays, lapsedDays: config.lifecycleLapsedDays },
          log: (level, msg, fields) => logger[level](fields ?? {}, msg),
        });
  }

  /** Evaluates what changed now (a segment was defined or deleted) instead of at the next poll. */
  tick(): void {
    if (this.engine) void this.engine.tick();
    else this.runtime.background?.tickSegments();
  }

  onApplicationBootstrap(): void {
    this.engine?.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.engine?.stop();
  }
}
