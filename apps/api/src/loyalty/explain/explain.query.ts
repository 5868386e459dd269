import { Query } from '@nestjs/cqrs';
import type { Explanation } from '@cairn/domain';

export class ExplainQuery extends Query<Explanation> {
  constructor(
    readonly customerId: string,
    readonly asOf: string,
  ) {
    super();
  }
}
