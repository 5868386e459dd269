import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { SegmentEngine } from '@cairn/projections';
import { RUNTIME, type CairnRuntime } from '../runtime';

/** Runs the segment engine in the API process: dirty persons, new definitions, sweeps, the outbox. */
@Injectable()
export class SegmentEngineService implements OnApplicationBootstrap, OnModuleDestroy {
  readonly engine: SegmentEngine;

  constructor(@Inject(RUNTIME) runtime: CairnRuntime) {
    const { config, logger } = runtime;
    this.engine = new SegmentEngine(runtime.readStore, runtime.events, {
      sweepIntervalMs: config.segmentIntervalMs,
      pollMs: config.segmentPollMs,
      lifecycle: { newDays: config.lifecycleNewDays, activeDays: config.lifecycleActiveDays, lapsedDays: config.lifecycleLapsedDays },
      log: (level, msg, fields) => logger[level](fields ?? {}, msg),
    });
  }

  onApplicationBootstrap(): void {
    this.engine.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.engine.stop();
  }
}
