import { Query } from '@nestjs/cqrs';

export interface ProjectionView {
  name: string;
  version: number;
  state: string;
  checkpoint: string | null;
  eventsProcessed: number;
  rate: number;
  lag: { events: number; capped: boolean; seconds: number };
  lastError: string | null;
}

export class ListProjectionsQuery extends Query<{ projections: ProjectionView[] }> {}
