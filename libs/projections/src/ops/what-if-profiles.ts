/**
 * What the profile-based what-if areas share (segments, RFM, lifecycle): reading the replay's
 * profiles page by page, the live lifecycle rules, and counting who moves from what to what.
 */
import type { Kysely } from 'kysely';
import { CairnError, DEFAULT_LIFECYCLE_RULES, ERROR_CODES, type FieldError, type LifecycleRules, type Profile } from '@cairn/domain';
import type { ReadModelSchema } from '@cairn/read-models';

const PAGE = 2000;

/** Every profile of the read model, by customer id (byte order), a page at a time; returns how many. */
export async function forEachProfile(db: Kysely<ReadModelSchema>, visit: (p: Profile) => void): Promise<number> {
  let after: string | null = null;
  let n = 0;
  for (;;) {
    let q = db.selectFrom('profiles').select(['customer_id', 'doc']).orderBy('customer_id').limit(PAGE);
    if (after !== null) q = q.where('customer_id', '>', after);
    const rows = await q.execute();
    for (const r of rows) visit(JSON.parse(r.doc) as Profile);
    n += rows.length;
    if (rows.length < PAGE) return n;
    after = rows[rows.length - 1]!.customer_id;
    // The API's requests (same thread) get their turn between pages.
    await new Promise((r) => setImmediate(r));
  }
}

export const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** One customer whose answer differs: `null` is "none" (not scored, not a member…). */
export interface Move<T = string> {
  readonly customerId: string;
  readonly from: T | null;
  readonly to: T | null;
}

export interface Transition {
  readonly from: string | null;
  readonly to: string | null;
  readonly customers: number;
}

/** Moves counted per (from, to), most customers first, then by from and to (none first). */
export function transitionsOf(moves: readonly Move<unknown>[], label: (v: unknown) => string | null): Transition[] {
  const counts = new Map<string, Transition>();
  for (const m of moves) {
    const from = m.from === null ? null : label(m.from);
    const to = m.to === null ? null : label(m.to);
    const key = JSON.stringify([from, to]);
    const t = counts.get(key);
    counts.set(key, { from, to, customers: (t?.customers ?? 0) + 1 });
  }
  const k = (v: string | null) => (v === null ? '' : `~${v}`);
  return [...counts.values()].sort((a, b) => b.customers - a.customers || byString(k(a.from), k(b.from)) || byString(k(a.to), k(b.to)));
}

/** CAIRN.VALIDATION listing every field, as splitRules collects them. */
export function invalidRules(fields: FieldError[]): CairnError {
  return new CairnError(ERROR_CODES.VALIDATION, `invalid what-if rules: ${fields[0]!.field} ${fields[0]!.message}`, { fields });
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Bounds of the lifecycle thresholds, as configuration has them (CAIRN_LIFECYCLE_*_DAYS). */
export const MAX_THRESHOLD_DAYS = 3650;

function isLifecycleRules(v: unknown): v is LifecycleRules {
  return isPlainObject(v) && ['newDays', 'activeDays', 'lapsedDays'].every((k) => Number.isInteger(v[k]));
}

/**
 * The live lifecycle thresholds: those the area was built with (configuration), else a
 * `lifecycle` object among the folds' live rules, else the defaults (30 / 90 / 180 days).
 */
export function liveLifecycleRules(configured: LifecycleRules | undefined, rules: unknown): LifecycleRules {
  if (configured) return configured;
  const fromRules = isPlainObject(rules) ? rules.lifecycle : undefined;
  return isLifecycleRules(fromRules) ? { newDays: fromRules.newDays, activeDays: fromRules.activeDays, lapsedDays: fromRules.lapsedDays } : DEFAULT_LIFECYCLE_RULES;
}
