import { randomUUID } from 'crypto';
import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { NO_STREAM, WrongExpectedVersionError, jsonEvent } from '@eventstore/db-client';
import { CairnError, ERROR_CODES, LOYALTY_PROGRAM_STREAM, PROGRAM_DEFINED_TYPE, type ProgramDefinedV1 } from '@cairn/domain';
import { eventStoreUnavailable } from '@cairn/event-store';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { LoyaltyReader } from '../loyalty.reader';
import { PutProgramCommand, type ProgramDefined } from './put-program.command';

@CommandHandler(PutProgramCommand)
export class PutProgramHandler implements ICommandHandler<PutProgramCommand, ProgramDefined> {
  constructor(
    @Inject(RUNTIME) private readonly runtime: CairnRuntime,
    @Inject(LoyaltyReader) private readonly reader: LoyaltyReader,
  ) {}

  /** Versions are 1, 2, 3…: appended with the expected revision, re-read on a concurrent PUT. */
  async execute(c: PutProgramCommand): Promise<ProgramDefined> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const { versions, revision } = await this.reader.programs({ fresh: true });
      const recordedAt = c.now.toISOString();
      const data: ProgramDefinedV1['data'] = { version: versions.length + 1, effectiveFrom: c.effectiveFrom ?? recordedAt, recordedAt, program: c.program };
      try {
        await this.runtime.events.client.appendToStream(LOYALTY_PROGRAM_STREAM, jsonEvent({ id: randomUUID(), type: PROGRAM_DEFINED_TYPE, data: data as never }), {
          expectedRevision: revision ?? NO_STREAM,
        });
        await this.reader.programs({ fresh: true }); // this process answers with the new version at once
        return { version: data.version, effectiveFrom: data.effectiveFrom, recordedAt };
      } catch (err) {
        if (err instanceof WrongExpectedVersionError) continue;
        throw eventStoreUnavailable(err);
      }
    }
    throw new CairnError(ERROR_CODES.STREAM_CONFLICT, 'the loyalty program changed concurrently too many times; retry');
  }
}
