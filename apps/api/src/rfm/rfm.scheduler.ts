import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { runRfm, scheduledRunDue } from '@cairn/projections';
import { RUNTIME, type CairnRuntime } from '../runtime';

/**
 * The daily RFM recomputation: checks every minute whether today's run (shop timezone) exists and
 * makes it when not, so a restart or a missed tick catches up on the next check.
 */
@Injectable()
export class RfmScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  onApplicationBootstrap(): void {
    if (this.runtime.config.rfmSchedule !== 'daily') return;
    this.timer = setInterval(() => this.tick(), 60_000);
    this.timer.unref();
    this.tick();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private tick(): void {
    if (this.running) return;
    const { config, readStore, logger } = this.runtime;
    this.running = (async () => {
      const now = new Date();
      if (!(await scheduledRunDue(readStore.db, now, config.timezone))) return;
      const run = await runRfm(readStore, { asOf: now, windowDays: config.rfmWindowDays, trigger: 'schedule', timezone: config.timezone });
      logger.info({ runId: run.runId, customers: run.customers, durationMs: run.durationMs }, 'daily RFM recomputed');
    })()
      .catch((err: unknown) => logger.error({ err }, 'daily RFM recomputation failed'))
      .finally(() => {
        this.running = null;
      });
  }
}
