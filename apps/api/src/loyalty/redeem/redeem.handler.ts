import { setTimeout as sleep } from 'timers/promises';
import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { NO_STREAM, WrongExpectedVersionError, jsonEvent } from '@eventstore/db-client';
import { CairnError, ERROR_CODES, REDEEMED_TYPE, type RedeemedV1 } from '@cairn/domain';
import { eventStoreUnavailable } from '@cairn/event-store';
import { awaitPosition } from '../../read-your-writes';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { LoyaltyReader } from '../loyalty.reader';
import { RedeemCommand, type Redeemed } from './redeem.command';

const MAX_ATTEMPTS = 50;

/**
 * Check-then-append with optimistic concurrency on `loyalty-<personId>` (the person's own id, when
 * the customer id was merged into another: docs/identity.md): the balance is computed
 * from the stream revision read, and the append expects exactly that revision. A concurrent
 * redemption makes the append fail with WrongExpectedVersion; we re-read and re-check, so two
 * redemptions can never both spend the same points — across processes too. Within this process,
 * redemptions of one customer are queued, so a burst on one customer does not thrash on conflicts.
 */
@CommandHandler(RedeemCommand)
export class RedeemHandler implements ICommandHandler<RedeemCommand, Redeemed> {
  constructor(
    @Inject(RUNTIME) private readonly runtime: CairnRuntime,
    @Inject(LoyaltyReader) private readonly reader: LoyaltyReader,
  ) {}

  private readonly queues = new Map<string, Promise<unknown>>();

  async execute(c: RedeemCommand): Promise<Redeemed> {
    await awaitPosition(this.runtime, c.minPosition, false);
    const previous = this.queues.get(c.customerId) ?? Promise.resolve();
    const mine = previous.catch(() => undefined).then(() => this.redeem(c));
    this.queues.set(c.customerId, mine);
    try {
      return await mine;
    } finally {
      if (this.queues.get(c.customerId) === mine) this.queues.delete(c.customerId);
    }
  }

  private async redeem(c: RedeemCommand): Promise<Redeemed> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const occurredAt = new Date().toISOString();
      // The person's ledger (every id of theirs); the redemption goes to the person's own stream.
      const { ledger, personId, stream, revision, redemptionIds } = await this.reader.ledger(c.customerId, occurredAt, { allowEmpty: true });
      const available = ledger.balance.available;
      if (redemptionIds.has(c.redemptionId)) {
        return { redemptionId: c.redemptionId, customerId: c.customerId, points: c.points, occurredAt, available, duplicate: true };
      }
      if (available < c.points) {
        throw new CairnError(ERROR_CODES.INSUFFICIENT_POINTS, `customer '${c.customerId}' has ${available} points available, ${c.points} requested`, {
          available,
          requested: c.points,
        });
      }
      const data: RedeemedV1['data'] = { customerId: personId, points: c.points, occurredAt, ...(c.reference !== undefined ? { reference: c.reference } : {}) };
      try {
        await this.runtime.events.client.appendToStream(stream, jsonEvent({ id: c.redemptionId, type: REDEEMED_TYPE, data: data as never }), {
          expectedRevision: revision ?? NO_STREAM,
        });
        return { redemptionId: c.redemptionId, customerId: c.customerId, points: c.points, occurredAt, available: available - c.points, duplicate: false };
      } catch (err) {
        if (!(err instanceof WrongExpectedVersionError)) throw eventStoreUnavailable(err);
        // Someone else appended first: back off a little (jittered) and re-check.
        await sleep(Math.floor(Math.random() * Math.min(50, 2 + attempt * 3)));
      }
    }
    throw new CairnError(ERROR_CODES.STREAM_CONFLICT, `too many concurrent redemptions for customer '${c.customerId}'; retry`, { customerId: c.customerId });
  }
}
