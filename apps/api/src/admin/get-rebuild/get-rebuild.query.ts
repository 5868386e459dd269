import { Query } from '@nestjs/cqrs';

export class GetRebuildQuery extends Query<unknown> {
  constructor(readonly id: string) {
    super();
  }
}
