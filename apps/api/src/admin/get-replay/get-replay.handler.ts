import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { operationsOf } from '../operations';
import { GetReplayQuery } from './get-replay.query';

@QueryHandler(GetReplayQuery)
export class GetReplayHandler implements IQueryHandler<GetReplayQuery, unknown> {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  async execute(query: GetReplayQuery): Promise<unknown> {
    const ops = operationsOf(this.runtime);
    return query.files ? { files: ops.replayFiles(query.id) } : ops.replay(query.id);
  }
}
