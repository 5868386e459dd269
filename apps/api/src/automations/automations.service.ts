import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { AutomationRunner } from '@cairn/projections';
import { RUNTIME, type CairnRuntime } from '../runtime';

/** Runs the automation rules (segment entries → vouchers, then their events) in the API process, beside the webhooks. */
@Injectable()
export class AutomationsService implements OnApplicationBootstrap, OnModuleDestroy {
  readonly runner: AutomationRunner;

  constructor(@Inject(RUNTIME) runtime: CairnRuntime) {
    this.runner = new AutomationRunner(runtime.readStore, runtime.events, { publishMs: 1000, log: (level, msg, fields) => runtime.logger[level](fields ?? {}, msg) });
  }

  onApplicationBootstrap(): void {
    this.runner.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.runner.stop();
  }
}
