import { Query } from '@nestjs/cqrs';

export class ListParkedEventsQuery extends Query<{ parked: unknown[] }> {
  constructor(
    readonly projection: string | undefined,
    readonly limit: number,
  ) {
    super();
  }
}
