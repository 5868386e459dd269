/**
 * The `lifecycle` what-if area (docs/operations.md, "What-if"): "who would be in another lifecycle
 * stage with other thresholds?", as of the replay's instant.
 *
 * Rules: `{ "lifecycle": { "newDays"?, "activeDays"?, "lapsedDays"? } }`, merged over the live
 * thresholds (CAIRN_LIFECYCLE_*_DAYS) and validated as configuration is: integers from 1 to 3650,
 * and `activeDays` below `lapsedDays` (at risk lies between them). Every profile's stage is the
 * domain's `lifecycleStage` under each.
 */
import type { Kysely } from 'kysely';
import { lifecycleStage, type FieldError, type LifecycleRules, type LifecycleStage } from '@cairn/domain';
import type { ReadModelSchema } from '@cairn/read-models';
import { firstOf, type WhatIfArea, type WhatIfContext, type WhatIfOutcome } from '../ops/what-if';
import { MAX_THRESHOLD_DAYS, forEachProfile, invalidRules, isPlainObject, liveLifecycleRules, transitionsOf, type Move, type Transition } from '../ops/what-if-profiles';

export type LifecycleWhatIfRules = Partial<LifecycleRules>;

export const LIFECYCLE_STAGES: readonly LifecycleStage[] = ['new', 'active', 'at_risk', 'lapsed'];
const KEYS = ['newDays', 'activeDays', 'lapsedDays'] as const;

function orderingError(merged: LifecycleRules, given: LifecycleWhatIfRules): FieldError | null {
  if (merged.activeDays < merged.lapsedDays) return null;
  const field = given.lapsedDays !== undefined ? 'rules.lifecycle.lapsedDays' : 'rules.lifecycle.activeDays';
  return { field, message: `activeDays (${merged.activeDays}) must be less than lapsedDays (${merged.lapsedDays}): at risk is between them` };
}

/** Validates the thresholds; `live`: the ones they are merged over, for the ordering. */
export function parseLifecycleWhatIf(rules: unknown, live?: LifecycleRules): LifecycleWhatIfRules {
  const base = 'rules.lifecycle';
  if (!isPlainObject(rules) || Object.keys(rules).length === 0) throw invalidRules([{ field: base, message: `must be an object with one or more of ${KEYS.join(', ')}` }]);
  const fields: FieldError[] = [];
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(rules)) {
    if (!(KEYS as readonly string[]).includes(k)) fields.push({ field: `${base}.${k}`, message: `unknown key (expected ${KEYS.join(', ')})` });
    else if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > MAX_THRESHOLD_DAYS) fields.push({ field: `${base}.${k}`, message: `must be an integer from 1 to ${MAX_THRESHOLD_DAYS}` });
    else out[k] = v as number;
  }
  if (fields.length === 0) {
    const ordering = orderingError({ ...liveLifecycleRules(live, null), ...out }, out);
    if (ordering) fields.push(ordering);
  }
  if (fields.length > 0) throw invalidRules(fields);
  // Fixed key order: the parsed rules are part of summary.json.
  return Object.fromEntries(KEYS.filter((k) => k in out).map((k) => [k, out[k]]));
}

export interface LifecycleWhatIfSummary {
  readonly at: string;
  readonly live: LifecycleRules;
  readonly whatIf: LifecycleRules;
  readonly customers: number;
  readonly stages: { stage: LifecycleStage; before: number; after: number }[];
  readonly changed: number;
  readonly transitions: Transition[];
  /** The first 20 of `file`. */
  readonly changes: Move<LifecycleStage>[];
  readonly file: string;
}

export interface LifecycleWhatIfOptions {
  /** The live thresholds (CAIRN_LIFECYCLE_*_DAYS). */
  readonly lifecycle?: LifecycleRules;
}

export async function compareLifecycle(db: Kysely<ReadModelSchema>, rules: LifecycleWhatIfRules, context: WhatIfContext, options: LifecycleWhatIfOptions = {}): Promise<WhatIfOutcome> {
  const live = liveLifecycleRules(options.lifecycle, context.rules);
  const whatIf: LifecycleRules = { ...live, ...rules };
  const ordering = orderingError(whatIf, rules);
  if (ordering) throw invalidRules([ordering]);
  const asOf = new Date(context.at);
  const counts = new Map(LIFECYCLE_STAGES.map((s) => [s, { before: 0, after: 0 }]));
  const moves: Move<LifecycleStage>[] = [];
  const customers = await forEachProfile(db, (p) => {
    const from = lifecycleStage(p, asOf, live);
    const to = lifecycleStage(p, asOf, whatIf);
    counts.get(from)!.before += 1;
    counts.get(to)!.after += 1;
    if (from !== to) moves.push({ customerId: p.customerId, from, to });
  });
  const summary: LifecycleWhatIfSummary = {
    at: context.at,
    live,
    whatIf,
    customers,
    stages: LIFECYCLE_STAGES.map((stage) => ({ stage, ...counts.get(stage)! })),
    changed: moves.length,
    transitions: transitionsOf(moves, (v) => v as string),
    changes: firstOf(moves),
    file: 'what-if/lifecycle/changes.json',
  };
  return { summary, files: { changes: moves } };
}

/** The area (registered in `cairnWhatIfAreas`); `options.lifecycle`: the configured thresholds. */
export function lifecycleWhatIfArea(options: LifecycleWhatIfOptions = {}): WhatIfArea<LifecycleWhatIfRules> {
  return {
    key: 'lifecycle',
    reads: ['profiles'],
    parse: (rules) => parseLifecycleWhatIf(rules, options.lifecycle),
    compare: (db, rules, context) => compareLifecycle(db, rules, context, options),
  };
}
