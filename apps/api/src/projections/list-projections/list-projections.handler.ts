import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { publicProjectionError } from '../../errors/cairn-exception.filter';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { ListProjectionsQuery, type ProjectionView } from './list-projections.query';

const LAG_CAP = 100_000;

@QueryHandler(ListProjectionsQuery)
export class ListProjectionsHandler implements IQueryHandler<ListProjectionsQuery, { projections: ProjectionView[] }> {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  async execute(): Promise<{ projections: ProjectionView[] }> {
    const statuses = await this.runtime.projections.statuses();
    const now = Date.now();
    const lags = await this.runtime.events.lagAfter(statuses.map((s) => s.checkpoint), LAG_CAP);
    const projections = statuses.map((s, i) => {
        const lag = lags[i];
        return {
          name: s.name,
          version: s.version,
          state: s.state,
          checkpoint: s.checkpoint === null ? null : s.checkpoint.toString(),
          eventsProcessed: s.eventsProcessed,
          rate: s.rate,
          lag: { events: lag.count, capped: lag.capped, seconds: lag.oldestCreated ? Math.max(0, (now - lag.oldestCreated.getTime()) / 1000) : 0 },
          lastError: publicProjectionError(s.lastError),
        };
      });
    return { projections };
  }
}
