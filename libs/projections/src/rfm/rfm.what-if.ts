/**
 * The `rfm` what-if area (docs/operations.md, "What-if"): "who would change RFM segment with
 * another window, or with fixed cut-offs instead of quintiles?", as of the replay's instant.
 *
 * Rules: `{ "rfm": { "windowDays"?, "cutoffs"?: { "recencyDays"?, "orders"?, "netMinor"? } } }`.
 * The baseline is an RFM run as the live one computes it (`rfmInputOf` + `scoreRfm`: the configured
 * window, quintile scores). The what-if uses `windowDays` (default: the live window) and, for each
 * metric given in `cutoffs`, four strictly ascending boundaries instead of its quintiles:
 *
 *   recencyDays [a, b, c, d]   R = 5 if days since the last order ≤ a, 4 if ≤ b, 3 if ≤ c, 2 if ≤ d, else 1
 *   orders      [a, b, c, d]   F = 1 + how many boundaries are ≤ the window's orders (a → 2, d → 5)
 *   netMinor    [a, b, c, d]   M = the same over the window's net revenue (minor units)
 *
 * The segment is the standard R×F map (`rfmSegment`) either way. The replay's profiles are folded
 * as of its instant, so returns after it are already left out.
 */
import type { Kysely } from 'kysely';
import { DEFAULT_RFM_WINDOW_DAYS, RFM_SEGMENTS, rfmInputOf, rfmSegment, scoreRfm, type FieldError, type RfmCustomerInput, type RfmScore, type RfmSegment } from '@cairn/domain';
import type { ReadModelSchema } from '@cairn/read-models';
import { firstOf, type WhatIfArea, type WhatIfContext, type WhatIfOutcome } from '../ops/what-if';
import { MAX_THRESHOLD_DAYS, byString, forEachProfile, invalidRules, isPlainObject, transitionsOf, type Move, type Transition } from '../ops/what-if-profiles';

export interface RfmCutoffs {
  readonly recencyDays?: readonly [number, number, number, number];
  readonly orders?: readonly [number, number, number, number];
  readonly netMinor?: readonly [number, number, number, number];
}

export interface RfmWhatIfRules {
  readonly windowDays?: number;
  readonly cutoffs?: RfmCutoffs;
}

/** How a run scores: the window, and cut-offs per metric (absent: quintiles). */
export interface RfmParameters {
  readonly windowDays: number;
  readonly cutoffs: RfmCutoffs;
}

const METRICS = ['recencyDays', 'orders', 'netMinor'] as const;

export function parseRfmWhatIf(rules: unknown): RfmWhatIfRules {
  const base = 'rules.rfm';
  if (!isPlainObject(rules)) throw invalidRules([{ field: base, message: 'must be an object { windowDays?, cutoffs? }' }]);
  const fields: FieldError[] = [];
  for (const k of Object.keys(rules)) if (k !== 'windowDays' && k !== 'cutoffs') fields.push({ field: `${base}.${k}`, message: 'unknown key (expected windowDays, cutoffs)' });
  if (rules.windowDays === undefined && rules.cutoffs === undefined) fields.push({ field: base, message: 'must change windowDays or cutoffs' });
  const w = rules.windowDays;
  if (w !== undefined && (!Number.isInteger(w) || (w as number) < 1 || (w as number) > MAX_THRESHOLD_DAYS)) fields.push({ field: `${base}.windowDays`, message: `must be an integer from 1 to ${MAX_THRESHOLD_DAYS}` });
  const cutoffs: Record<string, readonly number[]> = {};
  if (rules.cutoffs !== undefined) {
    const c = rules.cutoffs;
    if (!isPlainObject(c) || Object.keys(c).length === 0) fields.push({ field: `${base}.cutoffs`, message: `must be an object with one or more of ${METRICS.join(', ')}` });
    else {
      for (const [k, v] of Object.entries(c)) {
        const at = `${base}.cutoffs.${k}`;
        if (!(METRICS as readonly string[]).includes(k)) {
          fields.push({ field: at, message: `unknown key (expected ${METRICS.join(', ')})` });
          continue;
        }
        const min = k === 'recencyDays' ? 0 : k === 'orders' ? 1 : Number.MIN_SAFE_INTEGER;
        if (!Array.isArray(v) || v.length !== 4) fields.push({ field: at, message: 'must be 4 strictly ascending integers: the lower bounds of scores 2 to 5 (recencyDays: the upper bounds of scores 5 to 2)' });
        else {
          v.forEach((x, i) => {
            if (!Number.isSafeInteger(x) || (x as number) < min) fields.push({ field: `${at}[${i}]`, message: `must be an integer${min > Number.MIN_SAFE_INTEGER ? ` ≥ ${min}` : ''}` });
            else if (i > 0 && Number.isSafeInteger(v[i - 1]) && (x as number) <= (v[i - 1] as number)) fields.push({ field: `${at}[${i}]`, message: `must be greater than ${at}[${i - 1}] (${v[i - 1]})` });
          });
          cutoffs[k] = v as number[];
        }
      }
    }
  }
  if (fields.length > 0) throw invalidRules(fields);
  return {
    ...(w !== undefined ? { windowDays: w as number } : {}),
    ...(rules.cutoffs !== undefined ? { cutoffs: Object.fromEntries(METRICS.filter((m) => m in cutoffs).map((m) => [m, cutoffs[m]])) as RfmCutoffs } : {}),
  };
}

/** Score by cut-offs: recency (lower is better) and the others (higher is better). */
function recencyScore(days: number, c: readonly number[]): number {
  const i = c.findIndex((b) => days <= b);
  return i === -1 ? 1 : 5 - i;
}
function amountScore(value: number, c: readonly number[]): number {
  return 1 + c.filter((b) => b <= value).length;
}

/** `scoreRfm` (the live run's scoring), each metric with cut-offs scored by them instead; by customer id. */
export function scoreWith(inputs: readonly RfmCustomerInput[], asOf: Date, params: RfmParameters): RfmScore[] {
  const { recencyDays, orders, netMinor } = params.cutoffs;
  return scoreRfm(inputs, { asOf, windowDays: params.windowDays }).map((s) => {
    if (!recencyDays && !orders && !netMinor) return s;
    const r = recencyDays ? recencyScore(s.recencyDays, recencyDays) : s.r;
    const f = orders ? amountScore(s.orders, orders) : s.f;
    const m = netMinor ? amountScore(s.netMinor, netMinor) : s.m;
    return { ...s, r, f, m, segment: rfmSegment(r, f) };
  });
}

export interface RfmScoreBrief {
  readonly segment: RfmSegment;
  readonly r: number;
  readonly f: number;
  readonly m: number;
}

export interface RfmWhatIfSummary {
  readonly at: string;
  readonly live: { windowDays: number; cutoffs: RfmCutoffs };
  readonly whatIf: { windowDays: number; cutoffs: RfmCutoffs };
  /** Customers with an order in the window (scored). */
  readonly scored: { before: number; after: number };
  readonly segments: { segment: RfmSegment; before: number; after: number }[];
  /** Customers whose segment differs (null: not scored, no order in that window). */
  readonly changed: number;
  readonly transitions: Transition[];
  /** The first 20 of `file`. */
  readonly changes: Move<RfmSegment>[];
  readonly file: string;
}

export interface RfmWhatIfOptions {
  /** The live window (CAIRN_RFM_WINDOW_DAYS). */
  readonly windowDays?: number;
}

/** The live window: configured, else `rfmWindowDays` among the live rules, else 365 days. */
function liveWindow(options: RfmWhatIfOptions, rules: unknown): number {
  if (options.windowDays !== undefined) return options.windowDays;
  const w = isPlainObject(rules) ? rules.rfmWindowDays : undefined;
  return Number.isInteger(w) ? (w as number) : DEFAULT_RFM_WINDOW_DAYS;
}

export async function compareRfm(db: Kysely<ReadModelSchema>, rules: RfmWhatIfRules, context: WhatIfContext, options: RfmWhatIfOptions = {}): Promise<WhatIfOutcome> {
  const asOf = new Date(context.at);
  const live: RfmParameters = { windowDays: liveWindow(options, context.rules), cutoffs: {} };
  const whatIf: RfmParameters = { windowDays: rules.windowDays ?? live.windowDays, cutoffs: rules.cutoffs ?? {} };
  const inputs = { live: [] as RfmCustomerInput[], whatIf: [] as RfmCustomerInput[] };
  await forEachProfile(db, (p) => {
    const a = rfmInputOf(p, { asOf, windowDays: live.windowDays });
    if (a) inputs.live.push(a);
    const b = whatIf.windowDays === live.windowDays ? a : rfmInputOf(p, { asOf, windowDays: whatIf.windowDays });
    if (b) inputs.whatIf.push(b);
  });
  const before = new Map(scoreWith(inputs.live, asOf, live).map((s) => [s.customerId, s]));
  const after = new Map(scoreWith(inputs.whatIf, asOf, whatIf).map((s) => [s.customerId, s]));
  const brief = (s: RfmScore | undefined): RfmScoreBrief | null => (s === undefined ? null : { segment: s.segment, r: s.r, f: s.f, m: s.m });
  const ids = [...new Set([...before.keys(), ...after.keys()])].sort(byString);
  const moves: Move<RfmScoreBrief>[] = [];
  for (const id of ids) {
    const b = before.get(id);
    const a = after.get(id);
    if (b?.segment !== a?.segment) moves.push({ customerId: id, from: brief(b), to: brief(a) });
  }
  const perSegment = (m: ReadonlyMap<string, RfmScore>) => {
    const n = new Map<RfmSegment, number>();
    for (const s of m.values()) n.set(s.segment, (n.get(s.segment) ?? 0) + 1);
    return n;
  };
  const [countBefore, countAfter] = [perSegment(before), perSegment(after)];
  const summary: RfmWhatIfSummary = {
    at: context.at,
    live,
    whatIf,
    scored: { before: before.size, after: after.size },
    segments: RFM_SEGMENTS.map((segment) => ({ segment, before: countBefore.get(segment) ?? 0, after: countAfter.get(segment) ?? 0 })),
    changed: moves.length,
    transitions: transitionsOf(moves, (v) => (v as RfmScoreBrief).segment),
    changes: firstOf(moves).map((m) => ({ customerId: m.customerId, from: m.from?.segment ?? null, to: m.to?.segment ?? null })),
    file: 'what-if/rfm/changes.json',
  };
  return { summary, files: { changes: moves } };
}

/** The area (registered in `cairnWhatIfAreas`); `options.windowDays`: the configured window. */
export function rfmWhatIfArea(options: RfmWhatIfOptions = {}): WhatIfArea<RfmWhatIfRules> {
  return { key: 'rfm', reads: ['profiles'], parse: parseRfmWhatIf, compare: (db, rules, context) => compareRfm(db, rules, context, options) };
}
