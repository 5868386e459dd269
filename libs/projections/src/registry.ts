/**
 * Every projection Cairn runs, by name and version. One engine feeds them all from one
 * subscription; each keeps its own checkpoint, so one can be rebuilt or fail without the others.
 */
import { analyticsProjection } from './analytics';
import { loyaltyProjection } from './loyalty';
import { loyaltyWhatIf } from './loyalty/loyalty.what-if';
import type { WhatIfArea } from './ops/what-if';
import { lifecycleWhatIfArea } from './lifecycle/lifecycle.what-if';
import { rfmWhatIfArea } from './rfm/rfm.what-if';
import { segmentsWhatIfArea } from './segments/segments.what-if';
import type { LifecycleRules } from '@cairn/domain';
import { profileProjection, type IdentityRules } from './profile.projection';
import type { Projection } from './projection';
import { voucherUsesProjection } from './vouchers/voucher-uses.projection';

/** The rules projections are folded under (from configuration; analysts may replay under others). */
export interface ProjectionRules extends IdentityRules {
  /** The shop's IANA timezone, for calendar periods. */
  readonly timezone: string;
}

export function cairnProjections(rules: ProjectionRules): Projection[] {
  return [profileProjection(rules), loyaltyProjection(), analyticsProjection(), voucherUsesProjection()];
}

/**
 * The areas a what-if replay compares on read, by the key of `rules` they take (ops/what-if.ts),
 * with the live values of the rules they compare against (from configuration).
 */
export function cairnWhatIfAreas(live: { lifecycle?: LifecycleRules; rfmWindowDays?: number } = {}): WhatIfArea[] {
  return [
    loyaltyWhatIf as WhatIfArea,
    segmentsWhatIfArea({ lifecycle: live.lifecycle }) as WhatIfArea,
    rfmWhatIfArea({ windowDays: live.rfmWindowDays }) as WhatIfArea,
    lifecycleWhatIfArea({ lifecycle: live.lifecycle }) as WhatIfArea,
  ];
}
