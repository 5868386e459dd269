/**
 * The segment condition language: small JSON trees, validated once (errors name the JSON path) and
 * evaluated as a pure function of (profile, asOf). See docs/segments.md.
 *
 *   leaf     { "field": "orders", "op": ">=", "value": 1 }
 *   window   { "count": { "type": "purchase", "withinDays": 90 }, "op": ">=", "value": 2 }
 *            { "sum": { "type": "purchase", "field": "totalMinor", "withinDays": 30 }, "op": ">", "value": 10000 }
 *   consent  { "consent": "email_marketing" }   (granted as of the evaluation; "status": "withdrawn" | "unknown" for the others)
 *   combine  { "all": [ … ] }  { "any": [ … ] }  { "not": … }
 */
import { CairnError, ERROR_CODES, type FieldError } from '../errors';
import { consentRecordAsOf } from '../consent';
import { CONSENT_PURPOSE_RULE, EVENT_KINDS, isConsentPurpose, type EventKind } from '../events';
import { lifecycleStage, type LifecycleRules, type Profile } from '../profile';

export const COMPARE_OPS = ['=', '!=', '>', '>=', '<', '<='] as const;
export const OPS = [...COMPARE_OPS, 'in', 'contains'] as const;
export type CompareOp = (typeof COMPARE_OPS)[number];
export type Op = (typeof OPS)[number];

type Scalar = string | number | boolean | null;

export type Condition =
  | { readonly all: readonly Condition[] }
  | { readonly any: readonly Condition[] }
  | { readonly not: Condition }
  | { readonly field: FieldName; readonly op: Op; readonly value: Scalar | readonly Scalar[] }
  | { readonly count: { readonly type: EventKind; readonly withinDays: number; readonly category?: string }; readonly op: CompareOp; readonly value: number }
  | { readonly sum: { readonly type: SumType; readonly field: string; readonly withinDays: number }; readonly op: CompareOp; readonly value: number }
  | { readonly consent: string; readonly status?: ConsentCondition };

/** What a consent leaf asks of a purpose as of the evaluation: granted (the default), withdrawn, or never said either way. */
export const CONSENT_CONDITIONS = ['granted', 'withdrawn', 'unknown'] as const;
export type ConsentCondition = (typeof CONSENT_CONDITIONS)[number];

type SumType = 'purchase' | 'return';
const SUM_FIELDS: Readonly<Record<SumType, string>> = { purchase: 'totalMinor', return: 'refundMinor' };

export interface EvaluationContext {
  readonly asOf: Date;
  readonly lifecycle?: LifecycleRules;
}

const DAY_MS = 86_400_000;
const days = (from: string | null | undefined, asOf: Date) => (from ? Math.floor((asOf.getTime() - Date.parse(from)) / DAY_MS) : null);

/** Profile fields a leaf may compare, with their kind. Time-relative ones are computed as of the evaluation. */
const FIELDS = {
  customerId: { kind: 'string', get: (p: Profile) => p.customerId },
  views: { kind: 'number', get: (p: Profile) => p.views },
  orders: { kind: 'number', get: (p: Profile) => p.orders },
  grossMinor: { kind: 'number', get: (p: Profile) => p.grossMinor },
  netMinor: { kind: 'number', get: (p: Profile) => p.netMinor },
  refundedMinor: { kind: 'number', get: (p: Profile) => p.refundedMinor },
  aovMinor: { kind: 'number', get: (p: Profile) => p.aovMinor },
  reviews: { kind: 'number', get: (p: Profile) => p.reviews },
  averageRating: { kind: 'number', get: (p: Profile) => p.averageRating },
  referralsMade: { kind: 'number', get: (p: Profile) => p.referralsMade },
  medianDaysBetweenOrders: { kind: 'number', get: (p: Profile) => p.medianDaysBetweenOrders },
  returnRateOrders: { kind: 'number', get: (p: Profile) => p.returnRate.orders },
  returnRateValue: { kind: 'number', get: (p: Profile) => p.returnRate.value },
  firstSeenAt: { kind: 'string', get: (p: Profile) => p.firstSeenAt },
  lastSeenAt: { kind: 'string', get: (p: Profile) => p.lastSeenAt },
  firstOrderAt: { kind: 'string', get: (p: Profile) => p.firstOrder?.occurredAt ?? null },
  lastOrderAt: { kind: 'string', get: (p: Profile) => p.lastOrder?.occurredAt ?? null },
  channels: { kind: 'list', get: (p: Profile) => [...p.channels] },
  viewedCategories: { kind: 'list', get: (p: Profile) => Object.keys(p.state.categoryViews ?? {}) },
  purchasedCategories: { kind: 'list', get: (p: Profile) => [...new Set(Object.values(p.state.orders).flatMap((o) => Object.keys(o.categories ?? {})))] },
  daysSinceFirstSeen: { kind: 'number', get: (p: Profile, c: EvaluationContext) => days(p.firstSeenAt, c.asOf) },
  daysSinceLastSeen: { kind: 'number', get: (p: Profile, c: EvaluationContext) => days(p.lastSeenAt, c.asOf) },
  daysSinceLastOrder: { kind: 'number', get: (p: Profile, c: EvaluationContext) => days(p.lastOrder?.occurredAt, c.asOf) },
  lifecycleStage: { kind: 'string', get: (p: Profile, c: EvaluationContext) => lifecycleStage(p, c.asOf, c.lifecycle) },
} as const satisfies Record<string, { kind: 'string' | 'number' | 'list'; get: (p: Profile, c: EvaluationContext) => unknown }>;
export type FieldName = keyof typeof FIELDS;
export const FIELD_NAMES = Object.keys(FIELDS) as FieldName[];

export const MAX_WITHIN_DAYS = 365;
const MAX_DEPTH = 8;
const MAX_NODES = 100;

/** Validates untrusted JSON into a Condition; throws CAIRN.VALIDATION listing every offending path. */
export function parseCondition(json: unknown, path = 'condition'): Condition {
  const errors: FieldError[] = [];
  let nodes = 0;
  const fail = (p: string, message: string) => void errors.push({ field: p, message });
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const onlyKeys = (o: Record<string, unknown>, p: string, allowed: string[]) => {
    for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(`${p}.${k}`, `unknown key (expected ${allowed.join(', ')})`);
  };
  const cmp = (o: Record<string, unknown>, p: string) => {
    if (!(COMPARE_OPS as readonly string[]).includes(o.op as string)) fail(`${p}.op`, `must be one of ${COMPARE_OPS.join(' ')}`);
    if (typeof o.value !== 'number' || !Number.isFinite(o.value)) fail(`${p}.value`, 'must be a number');
  };
  const withinDays = (v: unknown, p: string) => {
    if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > MAX_WITHIN_DAYS) fail(`${p}.withinDays`, `must be an integer from 1 to ${MAX_WITHIN_DAYS}`);
  };
  const walk = (v: unknown, p: string, depth: number): void => {
    if (++nodes > MAX_NODES) return fail(p, `a condition has at most ${MAX_NODES} nodes`);
    if (depth > MAX_DEPTH) return fail(p, `conditions nest at most ${MAX_DEPTH} deep`);
    if (!isObj(v)) return fail(p, 'must be an object: a field, count, sum or consent leaf, or all / any / not');
    if ('all' in v || 'any' in v) {
      const key = 'all' in v ? 'all' : 'any';
      onlyKeys(v, p, [key]);
      const list = v[key];
      if (!Array.isArray(list) || list.length === 0) return fail(`${p}.${key}`, 'must be a non-empty array of conditions');
      list.forEach((c, i) => walk(c, `${p}.${key}[${i}]`, depth + 1));
      return;
    }
    if ('not' in v) {
      onlyKeys(v, p, ['not']);
      return walk(v.not, `${p}.not`, depth + 1);
    }
    if ('field' in v) {
      onlyKeys(v, p, ['field', 'op', 'value']);
      const spec = (FIELDS as Record<string, { kind: string }>)[v.field as string];
      if (typeof v.field !== 'string' || spec === undefined) return fail(`${p}.field`, `must be one of ${FIELD_NAMES.join(', ')}`);
      if (!(OPS as readonly string[]).includes(v.op as string)) return fail(`${p}.op`, `must be one of ${OPS.join(' ')}`);
      const scalar = (x: unknown) => (spec.kind === 'number' ? typeof x === 'number' && Number.isFinite(x) : typeof x === 'string') || x === null;
      const kindName = spec.kind === 'number' ? 'a number' : 'a string';
      if (v.op === 'in') {
        if (!Array.isArray(v.value) || v.value.length === 0 || !v.value.every(scalar)) fail(`${p}.value`, `must be a non-empty array of ${spec.kind === 'number' ? 'numbers' : 'strings'}`);
      } else if (v.op === 'contains') {
        if (spec.kind === 'number') fail(`${p}.op`, `contains applies to list and string fields; ${v.field} is a number`);
        else if (typeof v.value !== 'string') fail(`${p}.value`, 'must be a string');
      } else if (spec.kind === 'list') {
        fail(`${p}.op`, `${v.field} is a list: use contains or in`);
      } else if (!scalar(v.value)) {
        fail(`${p}.value`, `must be ${kindName} (or null)`);
      } else if (v.value === null && v.op !== '=' && v.op !== '!=') {
        fail(`${p}.value`, 'null compares only with = and !=');
      }
      return;
    }
    if ('count' in v) {
      onlyKeys(v, p, ['count', 'op', 'value']);
      const c = v.count;
      if (!isObj(c)) return fail(`${p}.count`, 'must be { type, withinDays, category? }');
      onlyKeys(c, `${p}.count`, ['type', 'withinDays', 'category']);
      if (!(EVENT_KINDS as readonly string[]).includes(c.type as string) || c.type === 'identify' || c.type === 'consent' || c.type === 'custom') {
        fail(`${p}.count.type`, `must be one of view, purchase, return, review, referral${c.type === 'consent' ? ' (for consent use a { "consent": purpose } leaf)' : ''}`);
      }
      withinDays(c.withinDays, `${p}.count`);
      if (c.category !== undefined && (typeof c.category !== 'string' || !['view', 'purchase'].includes(c.type as string))) {
        fail(`${p}.count.category`, 'must be a string, and applies to view and purchase counts only');
      }
      return cmp(v, p);
    }
    if ('sum' in v) {
      onlyKeys(v, p, ['sum', 'op', 'value']);
      const s = v.sum;
      if (!isObj(s)) return fail(`${p}.sum`, 'must be { type, field, withinDays }');
      onlyKeys(s, `${p}.sum`, ['type', 'field', 'withinDays']);
      const type = s.type as SumType;
      if (!(type in SUM_FIELDS)) fail(`${p}.sum.type`, 'must be purchase or return');
      else if (s.field !== SUM_FIELDS[type]) fail(`${p}.sum.field`, `must be ${SUM_FIELDS[type]} for ${type}`);
      withinDays(s.withinDays, `${p}.sum`);
      return cmp(v, p);
    }
    if ('consent' in v) {
      onlyKeys(v, p, ['consent', 'status']);
      if (!isConsentPurpose(v.consent)) fail(`${p}.consent`, `must be a consent purpose: it ${CONSENT_PURPOSE_RULE.replace(/^must be /, 'is ')}`);
      if (v.status !== undefined && !(CONSENT_CONDITIONS as readonly unknown[]).includes(v.status)) {
        fail(`${p}.status`, `must be one of ${CONSENT_CONDITIONS.join(', ')} (default granted)`);
      }
      return;
    }
    fail(p, 'must have one of the keys field, count, sum, consent, all, any, not');
  };
  walk(json, path, 0);
  if (errors.length > 0) throw new CairnError(ERROR_CODES.VALIDATION, `invalid segment condition: ${errors[0]!.field} ${errors[0]!.message}`, { fields: errors });
  return json as Condition;
}

function compare(a: unknown, op: Op, b: unknown): boolean {
  switch (op) {
    case '=':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a !== null && b !== null && (a as number) > (b as number);
    case '>=':
      return a !== null && b !== null && (a as number) >= (b as number);
    case '<':
      return a !== null && b !== null && (a as number) < (b as number);
    case '<=':
      return a !== null && b !== null && (a as number) <= (b as number);
    case 'in':
      return Array.isArray(a) ? a.some((x) => (b as unknown[]).includes(x)) : (b as unknown[]).includes(a);
    case 'contains':
      return Array.isArray(a) ? a.includes(b) : typeof a === 'string' && a.includes(b as string);
    default: {
      const unreachable: never = op;
      throw new Error(`unknown op ${String(unreachable)}`);
    }
  }
}

/** Events of `type` in (asOf − withinDays, asOf]. */
function windowed(p: Profile, type: EventKind, withinDays: number, asOf: Date, category?: string): number[] {
  const end = asOf.getTime();
  const start = end - withinDays * DAY_MS;
  const inWindow = (iso: string) => {
    const t = Date.parse(iso);
    return t > start && t <= end;
  };
  if (type === 'purchase') {
    return Object.values(p.state.orders)
      .filter((o) => inWindow(o.occurredAt) && (category === undefined || (o.categories?.[category] ?? 0) > 0))
      .map((o) => (o.currency === p.currency ? o.totalMinor : 0));
  }
  return (p.state.activity ?? []).filter((e) => e[1] === type && inWindow(e[0]) && (category === undefined || e[2] === category)).map((e) => e[3]);
}

/** Whether `profile` meets the condition as of `ctx.asOf` (pure: the clock is passed in). */
export function evaluateCondition(c: Condition, profile: Profile, ctx: EvaluationContext): boolean {
  if ('all' in c) return c.all.every((x) => evaluateCondition(x, profile, ctx));
  if ('any' in c) return c.any.some((x) => evaluateCondition(x, profile, ctx));
  if ('not' in c) return !evaluateCondition(c.not, profile, ctx);
  if ('field' in c) return compare(FIELDS[c.field].get(profile, ctx), c.op, c.value);
  if ('consent' in c) {
    const status = consentRecordAsOf(Object.prototype.hasOwnProperty.call(profile.state.consent ?? {}, c.consent) ? profile.state.consent[c.consent] : undefined, ctx.asOf)?.status ?? 'unknown';
    return status === (c.status ?? 'granted');
  }
  if ('count' in c) return compare(windowed(profile, c.count.type, c.count.withinDays, ctx.asOf, c.count.category).length, c.op, c.value);
  return compare(
    windowed(profile, c.sum.type, c.sum.withinDays, ctx.asOf).reduce((a, b) => a + b, 0),
    c.op,
    c.value,
  );
}
