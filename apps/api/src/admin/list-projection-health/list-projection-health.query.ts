import { Query } from '@nestjs/cqrs';
import type { ProjectionHealth } from '@cairn/projections';

export class ListProjectionHealthQuery extends Query<{ projections: ProjectionHealth[] }> {}
