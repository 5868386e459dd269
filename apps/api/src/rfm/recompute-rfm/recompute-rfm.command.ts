import { Command } from '@nestjs/cqrs';
import type { RfmRun } from '@cairn/projections';

/** Recompute RFM now, as of a date (default now) over a window (default the configured one). */
export class RecomputeRfmCommand extends Command<RfmRun> {
  constructor(
    readonly asOf: Date,
    readonly windowDays: number | undefined,
  ) {
    super();
  }
}
