/**
 * Every projection Cairn runs, by name and version. Each gets its own subscription and checkpoint,
 * so one projection's rebuild or failure never holds up another.
 */
import type { ProfileRules } from '@cairn/domain';
import { loyaltyProjection } from './loyalty';
import { profileProjection } from './profile.projection';
import type { Projection } from './projection';

/** The rules projections are folded under (from configuration; analysts may replay under others). */
export interface ProjectionRules extends ProfileRules {
  /** The shop's IANA timezone, for calendar periods. */
  readonly timezone: string;
}

export function cairnProjections(rules: ProjectionRules): Projection[] {
  return [profileProjection(rules), loyaltyProjection()];
}
