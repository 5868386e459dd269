import { Command } from '@nestjs/cqrs';
import type { LoyaltyProgram } from '@cairn/domain';

export interface ProgramDefined {
  readonly version: number;
  readonly effectiveFrom: string;
  readonly recordedAt: string;
}

/** Records a new program version, in force from `effectiveFrom` (a past instant corrects history). */
export class PutProgramCommand extends Command<ProgramDefined> {
  constructor(
    readonly program: LoyaltyProgram,
    readonly effectiveFrom: string | undefined,
    readonly now: Date,
  ) {
    super();
  }
}
