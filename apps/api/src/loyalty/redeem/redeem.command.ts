import { Command } from '@nestjs/cqrs';

export interface Redeemed {
  readonly redemptionId: string;
  readonly customerId: string;
  readonly points: number;
  readonly occurredAt: string;
  /** Available balance right after this redemption. */
  readonly available: number;
  /** True when this redemption id was already recorded (a retried request): nothing was appended. */
  readonly duplicate: boolean;
}

export class RedeemCommand extends Command<Redeemed> {
  constructor(
    readonly customerId: string,
    readonly redemptionId: string,
    readonly points: number,
    readonly reference: string | undefined,
    /** Read-your-writes: wait until the read models include this log position (e.g. the purchase just ingested). */
    readonly minPosition?: bigint,
  ) {
    super();
  }
}
