import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { NO_STREAM, WrongExpectedVersionError, jsonEvent } from '@eventstore/db-client';
import { ADJUSTED_TYPE, CairnError, ERROR_CODES, loyaltyStreamFor, type AdjustedV1 } from '@cairn/domain';
import { eventStoreUnavailable } from '@cairn/event-store';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { LoyaltyReader } from '../loyalty.reader';
import { AdjustCommand, type Adjusted } from './adjust.command';

/** Appends to `loyalty-<personId>` with the revision read, like redemptions (one writer order per person). */
@CommandHandler(AdjustCommand)
export class AdjustHandler implements ICommandHandler<AdjustCommand, Adjusted> {
  constructor(
    @Inject(RUNTIME) private readonly runtime: CairnRuntime,
    @Inject(LoyaltyReader) private readonly reader: LoyaltyReader,
  ) {}

  async execute(c: AdjustCommand): Promise<Adjusted> {
    const { personId } = await this.reader.person(c.customerId);
    for (let attempt = 0; attempt < 20; attempt++) {
      const { items, revision } = await this.reader.redemptions(personId);
      const existing = items.find((i) => i.id === c.adjustmentId);
      if (existing) return { adjustmentId: c.adjustmentId, customerId: c.customerId, points: c.points, occurredAt: existing.occurredAt };
      const occurredAt = new Date().toISOString();
      const data: AdjustedV1['data'] = { customerId: personId, points: c.points, reason: c.reason, occurredAt };
      try {
        await this.runtime.events.client.appendToStream(loyaltyStreamFor(personId), jsonEvent({ id: c.adjustmentId, type: ADJUSTED_TYPE, data: data as never }), {
          expectedRevision: revision ?? NO_STREAM,
        });
        return { adjustmentId: c.adjustmentId, customerId: c.customerId, points: c.points, occurredAt };
      } catch (err) {
        if (!(err instanceof WrongExpectedVersionError)) throw eventStoreUnavailable(err);
      }
    }
    throw new CairnError(ERROR_CODES.STREAM_CONFLICT, `too many concurrent changes for customer '${c.customerId}'; retry`, { customerId: c.customerId });
  }
}
