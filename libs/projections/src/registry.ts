/**
 * Every projection Cairn runs, by name and version. Each gets its own subscription and checkpoint,
 * so one projection's rebuild or failure never holds up another.
 */
import type { ProfileRules } from '@cairn/domain';
import type { CairnEventStore } from '@cairn/event-store';
import { eventStoreIdentityLog } from './identity/identity-log';
import { analyticsProjection } from './analytics';
import { loyaltyProjection } from './loyalty';
import { profileProjection } from './profile.projection';
import type { Projection } from './projection';

/** The rules projections are folded under (from configuration; analysts may replay under others). */
export interface ProjectionRules extends ProfileRules {
  /** The shop's IANA timezone, for calendar periods. */
  readonly timezone: string;
  /** Identity: an anonymous id linked to more customers than this is a shared device (default 3). */
  readonly sharedDeviceLimit?: number;
}

/** What projections may read besides their batch (e.g. the admin identity log in the event store). */
export interface ProjectionDeps {
  readonly events?: CairnEventStore;
}

export function cairnProjections(rules: ProjectionRules, deps: ProjectionDeps = {}): Projection[] {
  return [profileProjection(rules, { identityLog: deps.events ? eventStoreIdentityLog(deps.events) : undefined }), loyaltyProjection(), analyticsProjection()];
}
