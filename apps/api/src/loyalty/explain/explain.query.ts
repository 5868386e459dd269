import { Query } from '@nestjs/cqrs';
import type { Explanation } from '@cairn/domain';

export class ExplainQuery extends Query<{ result: Explanation; stale: boolean }> {
  constructor(
    readonly customerId: string,
    readonly asOf: string,
    readonly minPosition: bigint | undefined,
    readonly allowStale: boolean,
  ) {
    super();
  }
}
