import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { ProjectionHealth } from '@cairn/projections';
import { publicProjectionError } from '../../errors/cairn-exception.filter';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { operationsOf } from '../operations';
import { ListProjectionHealthQuery } from './list-projection-health.query';

@QueryHandler(ListProjectionHealthQuery)
export class ListProjectionHealthHandler implements IQueryHandler<ListProjectionHealthQuery, { projections: ProjectionHealth[] }> {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  async execute(): Promise<{ projections: ProjectionHealth[] }> {
    const projections = await operationsOf(this.runtime).health();
    return { projections: projections.map((p) => ({ ...p, lastError: publicProjectionError(p.lastError) })) };
  }
}
