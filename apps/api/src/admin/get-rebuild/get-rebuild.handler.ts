import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { operationsOf } from '../operations';
import { GetRebuildQuery } from './get-rebuild.query';

@QueryHandler(GetRebuildQuery)
export class GetRebuildHandler implements IQueryHandler<GetRebuildQuery, unknown> {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  execute(query: GetRebuildQuery): Promise<unknown> {
    return operationsOf(this.runtime).rebuild(query.id);
  }
}
