import { Query } from '@nestjs/cqrs';

export class GetReplayQuery extends Query<unknown> {
  constructor(
    readonly id: string,
    /** true: the output files instead of the status. */
    readonly files: boolean,
  ) {
    super();
  }
}
