/**
 * The `segments` what-if area (docs/operations.md, "What-if"): "who would enter or leave this
 * segment if its definition were this one?", as of the replay's instant.
 *
 * Rules: `{ "segments": [ { "id"?, "name", "condition" }, … ] }`, each definition in the format of
 * POST /v1/segments (`{ name, condition }`), with `id` naming the live segment it changes; without
 * `id` it is a new segment. Both sides are evaluated by the domain's `evaluateCondition` over the
 * replay's profiles as of `context.at`: the baseline is the live definition (none for a new
 * segment), the what-if is the given one. Entries are members under the what-if and not under the
 * baseline; exits the other way round.
 */
import type { Kysely } from 'kysely';
import { CairnError, evaluateCondition, type Condition, type EvaluationContext, type FieldError, type LifecycleRules } from '@cairn/domain';
import type { ReadModelSchema } from '@cairn/read-models';
import { firstOf, type WhatIfArea, type WhatIfContext, type WhatIfOutcome } from '../ops/what-if';
import { byString, forEachProfile, invalidRules, isPlainObject, liveLifecycleRules } from '../ops/what-if-profiles';
import { parseSegmentBody } from './segment-definitions';

/** One definition of the rules, validated. */
export interface SegmentWhatIfDefinition {
  /** The live segment it changes; null: a new segment. */
  readonly id: string | null;
  readonly name: string;
  readonly condition: Condition;
}

export interface SegmentWhatIfAnswer {
  /** The definition's id, or `new-<i>` (its index in the rules) for a new segment: names its file. */
  readonly ref: string;
  readonly id: string | null;
  readonly name: string;
  /** The live segment's name (null: a new segment). */
  readonly liveName: string | null;
  readonly sizeBefore: number;
  readonly sizeAfter: number;
  readonly entries: number;
  readonly exits: number;
  /** The first 20 customer ids of each list (the file has them all). */
  readonly entered: string[];
  readonly exited: string[];
  readonly file: string;
}

export interface SegmentsWhatIfSummary {
  readonly at: string;
  readonly lifecycle: LifecycleRules;
  /** Live segments (not deleted) the baseline knows. */
  readonly liveSegments: number;
  readonly profiles: number;
  readonly segments: SegmentWhatIfAnswer[];
}

export const MAX_WHAT_IF_SEGMENTS = 100;
/** Live segment ids are UUIDs; an id names a file of the output, so only path-safe ones. */
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function parseSegmentsWhatIf(rules: unknown): SegmentWhatIfDefinition[] {
  const base = 'rules.segments';
  if (!Array.isArray(rules) || rules.length === 0 || rules.length > MAX_WHAT_IF_SEGMENTS) {
    throw invalidRules([{ field: base, message: `must be a non-empty array (at most ${MAX_WHAT_IF_SEGMENTS}) of segment definitions { id?, name, condition } as POST /v1/segments takes them` }]);
  }
  const fields: FieldError[] = [];
  const out: SegmentWhatIfDefinition[] = [];
  const seen = new Map<string, number>();
  rules.forEach((item, i) => {
    const at = `${base}[${i}]`;
    if (!isPlainObject(item)) return void fields.push({ field: at, message: 'must be an object { id?, name, condition }' });
    const { id, ...body } = item;
    if (id !== undefined) {
      if (typeof id !== 'string' || !ID.test(id)) fields.push({ field: `${at}.id`, message: 'must be the id of a live segment (GET /v1/segments), or left out for a new segment' });
      else if (seen.has(id)) fields.push({ field: `${at}.id`, message: `names the same segment as ${base}[${seen.get(id)}]` });
      else seen.set(id, i);
    }
    try {
      const def = parseSegmentBody(body);
      out.push({ id: typeof id === 'string' ? id : null, name: def.name, condition: def.condition });
    } catch (err) {
      if (!(err instanceof CairnError)) throw err;
      for (const f of (err.details?.fields as FieldError[] | undefined) ?? []) {
        fields.push({ field: f.field === '' ? at : `${at}.${f.field}`, message: f.field === '' ? 'must be an object { id?, name, condition }' : f.message.replace('(expected name, condition)', '(expected id, name, condition)') });
      }
    }
  });
  if (fields.length > 0) throw invalidRules(fields);
  return out;
}

interface LiveSegment {
  readonly id: string;
  readonly name: string;
  readonly condition: Condition;
}

/** The live definitions, not deleted (none without a live store). */
export async function liveSegments(live: Kysely<ReadModelSchema> | null): Promise<LiveSegment[]> {
  if (live === null) return [];
  const rows = await live.selectFrom('segments').select(['segment_id', 'name', 'condition']).where('deleted', '=', 0).orderBy('segment_id').execute();
  return rows.map((r) => ({ id: r.segment_id, name: r.name, condition: JSON.parse(r.condition) as Condition }));
}

/**
 * Members of `conditions` over the read model's profiles as of `ctx.asOf`, by the domain's own
 * evaluation (also what the specs compare the area with). Lists sorted by customer id.
 */
export async function evaluateSegments(db: Kysely<ReadModelSchema>, conditions: readonly (Condition | null)[], ctx: EvaluationContext): Promise<{ members: string[][]; profiles: number }> {
  const members = conditions.map(() => [] as string[]);
  const profiles = await forEachProfile(db, (p) => {
    conditions.forEach((c, i) => {
      if (c !== null && evaluateCondition(c, p, ctx)) members[i]!.push(p.customerId);
    });
  });
  for (const m of members) m.sort(byString);
  return { members, profiles };
}

function difference(a: readonly string[], b: ReadonlySet<string>): string[] {
  return a.filter((x) => !b.has(x));
}

export interface SegmentsWhatIfOptions {
  /** The live lifecycle thresholds (configuration), for conditions on `lifecycleStage`. */
  readonly lifecycle?: LifecycleRules;
}

/** The live definitions; CAIRN.VALIDATION naming each `rules.segments[i].id` that names none. */
async function checkSegments(defs: readonly SegmentWhatIfDefinition[], liveDb: Kysely<ReadModelSchema> | null): Promise<LiveSegment[]> {
  const live = await liveSegments(liveDb);
  const ids = new Set(live.map((s) => s.id));
  const missing: FieldError[] = [];
  defs.forEach((d, i) => {
    if (d.id !== null && !ids.has(d.id)) {
      missing.push({ field: `rules.segments[${i}].id`, message: liveDb === null ? 'names a live segment, but this replay runs without the live read store' : `no live segment '${d.id}' (GET /v1/segments lists them)` });
    }
  });
  if (missing.length > 0) throw invalidRules(missing);
  return live;
}

export async function compareSegments(
  db: Kysely<ReadModelSchema>,
  defs: readonly SegmentWhatIfDefinition[],
  context: WhatIfContext,
  options: SegmentsWhatIfOptions = {},
): Promise<WhatIfOutcome> {
  const live = await checkSegments(defs, context.live);
  const byId = new Map(live.map((s) => [s.id, s]));
  const lifecycle = liveLifecycleRules(options.lifecycle, context.rules);
  const ctx: EvaluationContext = { asOf: new Date(context.at), lifecycle };
  const baseline = defs.map((d) => (d.id === null ? null : byId.get(d.id)!.condition));
  const { members, profiles } = await evaluateSegments(db, [...baseline, ...defs.map((d) => d.condition)], ctx);
  const files: Record<string, unknown> = {};
  const segments = defs.map((d, i): SegmentWhatIfAnswer => {
    const before = members[i]!;
    const after = members[defs.length + i]!;
    const entered = difference(after, new Set(before));
    const exited = difference(before, new Set(after));
    const ref = d.id ?? `new-${i}`;
    const liveName = d.id === null ? null : byId.get(d.id)!.name;
    files[ref] = { id: d.id, name: d.name, liveName, at: context.at, sizeBefore: before.length, sizeAfter: after.length, entered, exited };
    return {
      ref,
      id: d.id,
      name: d.name,
      liveName,
      sizeBefore: before.length,
      sizeAfter: after.length,
      entries: entered.length,
      exits: exited.length,
      entered: firstOf(entered),
      exited: firstOf(exited),
      file: `what-if/segments/${ref}.json`,
    };
  });
  const summary: SegmentsWhatIfSummary = { at: context.at, lifecycle, liveSegments: live.length, profiles, segments };
  return { summary, files };
}

/** The area (registered in `cairnWhatIfAreas`); `options.lifecycle`: the configured thresholds. */
export function segmentsWhatIfArea(options: SegmentsWhatIfOptions = {}): WhatIfArea<SegmentWhatIfDefinition[]> {
  return {
    key: 'segments',
    reads: ['profiles'],
    parse: parseSegmentsWhatIf,
    check: async (defs, live) => void (await checkSegments(defs, live)),
    compare: (db, rules, context) => compareSegments(db, rules, context, options),
  };
}
