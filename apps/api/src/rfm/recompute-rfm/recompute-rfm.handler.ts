import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { runRfm, type RfmRun } from '@cairn/projections';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { RecomputeRfmCommand } from './recompute-rfm.command';

@CommandHandler(RecomputeRfmCommand)
export class RecomputeRfmHandler implements ICommandHandler<RecomputeRfmCommand, RfmRun> {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  async execute(c: RecomputeRfmCommand): Promise<RfmRun> {
    const { config, readStore, logger } = this.runtime;
    const run = await runRfm(readStore, { asOf: c.asOf, windowDays: c.windowDays ?? config.rfmWindowDays, trigger: 'demand', timezone: config.timezone });
    logger.info({ runId: run.runId, customers: run.customers, durationMs: run.durationMs }, 'RFM recomputed on demand');
    return run;
  }
}
