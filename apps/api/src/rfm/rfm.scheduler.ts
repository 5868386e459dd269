import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { DailyRfmSchedule } from '@cairn/projections';
import { RUNTIME, type CairnRuntime } from '../runtime';

/** The daily RFM recomputation in the API process, unless the process runs it in its projector thread. */
@Injectable()
export class RfmScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private schedule: DailyRfmSchedule | null = null;

  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  onApplicationBootstrap(): void {
    const { config, readStore, logger, background } = this.runtime;
    if (config.rfmSchedule !== 'daily' || background) return;
    this.schedule = new DailyRfmSchedule(readStore, { timezone: config.timezone, windowDays: config.rfmWindowDays, log: (level, msg, fields) => logger[level](fields, msg) });
    this.schedule.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.schedule?.stop();
  }
}
