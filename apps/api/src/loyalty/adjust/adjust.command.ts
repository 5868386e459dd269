import { Command } from '@nestjs/cqrs';

export interface Adjusted {
  readonly adjustmentId: string;
  readonly customerId: string;
  readonly points: number;
  readonly occurredAt: string;
}

/** A manual, signed points adjustment by an admin, with its reason. */
export class AdjustCommand extends Command<Adjusted> {
  constructor(
    readonly customerId: string,
    readonly adjustmentId: string,
    readonly points: number,
    readonly reason: string,
  ) {
    super();
  }
}
