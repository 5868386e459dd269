/**
 * The loyalty program definition: a documented JSON document, validated field by field so a bad
 * program is refused with the JSON path of every problem (`tiers.levels[1].threshold`).
 *
 * Multipliers and points-per-unit are decimals with at most two places; the ledger computes with
 * them as integer hundredths, so no float ever touches a balance.
 */
import { CairnError, ERROR_CODES, type FieldError } from '../errors';

export type Rounding = 'floor' | 'half-up' | 'ceil';
export type ExpiryMode = 'none' | 'fixed' | 'inactivity';
export type NegativeBalancePolicy = 'allow' | 'floor-at-zero';
export type TierBasis = 'points' | 'spend';
export type DowngradePolicy = 'never' | 'end-of-period' | 'immediate';
export type QualificationWindow = { readonly kind: 'rolling'; readonly days: number } | { readonly kind: 'calendar-year' };

export interface TierLevel {
  readonly name: string;
  /** Points (basis `points`) or net spend in minor units (basis `spend`) over the window. */
  readonly threshold: number;
  /** Earn multiplier while in this tier (≤ 2 decimals). */
  readonly multiplier: number;
}

export interface LoyaltyProgram {
  /** ISO 4217: only purchases in this currency earn. */
  readonly currency: string;
  readonly earn: {
    /** Points per `unitMinor` of net spend (≤ 2 decimals), e.g. 1 point per 100 cents. */
    readonly pointsPerUnit: number;
    readonly unitMinor: number;
    readonly rounding: Rounding;
    /** Multiplier per item category (≤ 2 decimals); missing categories count 1. */
    readonly categoryMultipliers: Readonly<Record<string, number>>;
    /** Bonus for a review: at most once per product; only for a purchased product if `requirePurchase`. */
    readonly review: { readonly points: number; readonly requirePurchase: boolean } | null;
    /** Bonus when a referred friend's first order passes the return window (the pending period). */
    readonly referral: {
      readonly referrerPoints: number;
      readonly friendPoints: number;
      readonly maxPerWeek: number;
      /** A milestone bonus for the referrer after every `count` rewarded referrals (e.g. 1,000 points after every 3); null: none. */
      readonly every: { readonly count: number; readonly points: number } | null;
    } | null;
  };
  /** Earned points stay pending this many days (the return window), then become available. */
  readonly pendingDays: number;
  readonly expiry: { readonly mode: ExpiryMode; readonly days: number };
  readonly returns: { readonly negativeBalance: NegativeBalancePolicy };
  readonly tiers: {
    readonly basis: TierBasis;
    readonly window: QualificationWindow;
    readonly downgrade: DowngradePolicy;
    /** Ascending thresholds; the first must be 0 (the base tier). */
    readonly levels: readonly TierLevel[];
  };
}

/** A program as stored: the n-th definition, in force from `effectiveFrom` (business time). */
export interface ProgramVersion {
  readonly version: number;
  readonly effectiveFrom: string;
  /** When it was recorded (arrival time): a back-dated version is a correction. */
  readonly recordedAt: string;
  readonly eventId: string;
  readonly program: LoyaltyProgram;
}

export type ProgramValidation = { readonly ok: true; readonly program: LoyaltyProgram } | { readonly ok: false; readonly errors: readonly FieldError[] };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const hundredths = (n: number) => Number.isFinite(n) && Math.abs(Math.round(n * 100) - n * 100) < 1e-6;

class Checker {
  readonly errors: FieldError[] = [];
  fail(field: string, message: string): undefined {
    this.errors.push({ field, message });
    return undefined;
  }
  obj(v: unknown, path: string): Obj | undefined {
    return isObj(v) ? v : this.fail(path, 'must be an object');
  }
  int(v: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) return this.fail(path, 'must be an integer');
    if (v < min || v > max) return this.fail(path, `must be between ${min} and ${max}`);
    return v;
  }
  decimal(v: unknown, path: string, min: number, max: number): number | undefined {
    if (typeof v !== 'number' || !hundredths(v)) return this.fail(path, 'must be a number with at most 2 decimals');
    if (v < min || v > max) return this.fail(path, `must be between ${min} and ${max}`);
    return v;
  }
  oneOf<T extends string>(v: unknown, path: string, values: readonly T[]): T | undefined {
    return typeof v === 'string' && (values as readonly string[]).includes(v) ? (v as T) : this.fail(path, `must be one of ${values.join(', ')}`);
  }
  bool(v: unknown, path: string): boolean | undefined {
    return typeof v === 'boolean' ? v : this.fail(path, 'must be true or false');
  }
  unknownKeys(o: Obj, path: string, known: readonly string[]): void {
    for (const k of Object.keys(o)) if (!known.includes(k)) this.fail(path === '' ? k : `${path}.${k}`, 'unknown field');
  }
}

const MAX_DAYS = 3650;

/** Validates untrusted JSON into a program; every error names its JSON path. */
export function validateProgram(input: unknown): ProgramValidation {
  const c = new Checker();
  const root = c.obj(input, '(body)');
  if (!root) return { ok: false, errors: c.errors };
  c.unknownKeys(root, '', ['currency', 'earn', 'pendingDays', 'expiry', 'returns', 'tiers']);
  const currency = typeof root.currency === 'string' && /^[A-Z]{3}$/.test(root.currency) ? root.currency : c.fail('currency', 'must be an ISO 4217 code (3 upper-case letters)');

  const earnIn = c.obj(root.earn, 'earn') ?? {};
  c.unknownKeys(earnIn, 'earn', ['pointsPerUnit', 'unitMinor', 'rounding', 'categoryMultipliers', 'review', 'referral']);
  const pointsPerUnit = c.decimal(earnIn.pointsPerUnit, 'earn.pointsPerUnit', 0, 10_000);
  const unitMinor = c.int(earnIn.unitMinor ?? 100, 'earn.unitMinor', 1, 1_000_000);
  const rounding = c.oneOf(earnIn.rounding ?? 'floor', 'earn.rounding', ['floor', 'half-up', 'ceil'] as const);
  const categoryMultipliers: Record<string, number> = {};
  if (earnIn.categoryMultipliers !== undefined) {
    const cm = c.obj(earnIn.categoryMultipliers, 'earn.categoryMultipliers') ?? {};
    for (const [k, v] of Object.entries(cm)) {
      const m = c.decimal(v, `earn.categoryMultipliers.${k}`, 0, 100);
      if (m !== undefined) categoryMultipliers[k] = m;
    }
  }
  let review: LoyaltyProgram['earn']['review'] = null;
  if (earnIn.review !== undefined && earnIn.review !== null) {
    const r = c.obj(earnIn.review, 'earn.review') ?? {};
    c.unknownKeys(r, 'earn.review', ['points', 'requirePurchase']);
    const points = c.int(r.points, 'earn.review.points', 0, 1_000_000);
    const requirePurchase = c.bool(r.requirePurchase ?? true, 'earn.review.requirePurchase');
    if (points !== undefined && requirePurchase !== undefined) review = { points, requirePurchase };
  }
  let referral: LoyaltyProgram['earn']['referral'] = null;
  if (earnIn.referral !== undefined && earnIn.referral !== null) {
    const r = c.obj(earnIn.referral, 'earn.referral') ?? {};
    c.unknownKeys(r, 'earn.referral', ['referrerPoints', 'friendPoints', 'maxPerWeek', 'every']);
    const referrerPoints = c.int(r.referrerPoints, 'earn.referral.referrerPoints', 0, 1_000_000);
    const friendPoints = c.int(r.friendPoints ?? 0, 'earn.referral.friendPoints', 0, 1_000_000);
    const maxPerWeek = c.int(r.maxPerWeek ?? 5, 'earn.referral.maxPerWeek', 1, 10_000);
    let every: { count: number; points: number } | null | undefined = null;
    if (r.every !== undefined && r.every !== null) {
      const e = c.obj(r.every, 'earn.referral.every') ?? {};
      c.unknownKeys(e, 'earn.referral.every', ['count', 'points']);
      const count = c.int(e.count, 'earn.referral.every.count', 2, 1000);
      const points = c.int(e.points, 'earn.referral.every.points', 1, 1_000_000);
      every = count !== undefined && points !== undefined ? { count, points } : undefined;
    }
    if (referrerPoints !== undefined && friendPoints !== undefined && maxPerWeek !== undefined && every !== undefined) referral = { referrerPoints, friendPoints, maxPerWeek, every };
  }

  const pendingDays = c.int(root.pendingDays ?? 0, 'pendingDays', 0, MAX_DAYS);

  const expiryIn = root.expiry === undefined ? { mode: 'none', days: 0 } : (c.obj(root.expiry, 'expiry') ?? {});
  c.unknownKeys(expiryIn, 'expiry', ['mode', 'days']);
  const expiryMode = c.oneOf(expiryIn.mode, 'expiry.mode', ['none', 'fixed', 'inactivity'] as const);
  const expiryDays = expiryMode === 'none' ? 0 : c.int(expiryIn.days, 'expiry.days', 1, MAX_DAYS);
  if (expiryMode === 'fixed' && expiryDays !== undefined && pendingDays !== undefined && expiryDays <= pendingDays) {
    c.fail('expiry.days', 'must be greater than pendingDays (points would expire before they are available)');
  }

  const returnsIn = root.returns === undefined ? {} : (c.obj(root.returns, 'returns') ?? {});
  c.unknownKeys(returnsIn, 'returns', ['negativeBalance']);
  const negativeBalance = c.oneOf(returnsIn.negativeBalance ?? 'allow', 'returns.negativeBalance', ['allow', 'floor-at-zero'] as const);

  const tiersIn = c.obj(root.tiers, 'tiers') ?? {};
  c.unknownKeys(tiersIn, 'tiers', ['basis', 'window', 'downgrade', 'levels']);
  const basis = c.oneOf(tiersIn.basis ?? 'points', 'tiers.basis', ['points', 'spend'] as const);
  let window: QualificationWindow | undefined;
  const w = tiersIn.window === undefined ? { kind: 'rolling', days: 365 } : c.obj(tiersIn.window, 'tiers.window');
  if (w) {
    const kind = c.oneOf(w.kind, 'tiers.window.kind', ['rolling', 'calendar-year'] as const);
    if (kind === 'rolling') {
      c.unknownKeys(w, 'tiers.window', ['kind', 'days']);
      const days = c.int(w.days ?? 365, 'tiers.window.days', 1, MAX_DAYS);
      if (days !== undefined) window = { kind, days };
    } else if (kind === 'calendar-year') {
      c.unknownKeys(w, 'tiers.window', ['kind']);
      window = { kind };
    }
  }
  const downgrade = c.oneOf(tiersIn.downgrade ?? 'end-of-period', 'tiers.downgrade', ['never', 'end-of-period', 'immediate'] as const);
  const levels: TierLevel[] = [];
  if (!Array.isArray(tiersIn.levels) || tiersIn.levels.length === 0) c.fail('tiers.levels', 'must be a non-empty array');
  else if (tiersIn.levels.length > 20) c.fail('tiers.levels', 'at most 20 levels');
  else {
    const names = new Set<string>();
    tiersIn.levels.forEach((l: unknown, i: number) => {
      const p = `tiers.levels[${i}]`;
      const lv = c.obj(l, p);
      if (!lv) return;
      c.unknownKeys(lv, p, ['name', 'threshold', 'multiplier']);
      const name = typeof lv.name === 'string' && lv.name.trim() !== '' && lv.name.length <= 64 ? lv.name : c.fail(`${p}.name`, 'must be a non-empty string of at most 64 characters');
      if (name !== undefined && names.has(name)) c.fail(`${p}.name`, 'duplicate tier name');
      if (name !== undefined) names.add(name);
      const threshold = c.int(lv.threshold, `${p}.threshold`, 0);
      if (i === 0 && threshold !== undefined && threshold !== 0) c.fail(`${p}.threshold`, 'the first (base) tier must have threshold 0');
      const prev = levels[levels.length - 1];
      if (i > 0 && threshold !== undefined && prev !== undefined && threshold <= prev.threshold) c.fail(`${p}.threshold`, 'thresholds must be strictly ascending');
      const multiplier = c.decimal(lv.multiplier ?? 1, `${p}.multiplier`, 0, 100);
      if (name !== undefined && threshold !== undefined && multiplier !== undefined) levels.push({ name, threshold, multiplier });
    });
  }

  if (c.errors.length > 0) return { ok: false, errors: c.errors };
  return {
    ok: true,
    program: {
      currency: currency!,
      earn: { pointsPerUnit: pointsPerUnit!, unitMinor: unitMinor!, rounding: rounding!, categoryMultipliers, review, referral },
      pendingDays: pendingDays!,
      expiry: { mode: expiryMode!, days: expiryDays ?? 0 },
      returns: { negativeBalance: negativeBalance! },
      tiers: { basis: basis!, window: window!, downgrade: downgrade!, levels },
    },
  };
}

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * `{ program, effectiveFrom? }`, as PUT /v1/loyalty/program takes it and a what-if replay's
 * `rules.loyalty` too; CAIRN.VALIDATION naming every JSON path, under `path` (e.g. `rules.loyalty`).
 */
export function parseProgramChange(body: unknown, path = ''): { program: LoyaltyProgram; effectiveFrom: string | undefined } {
  const at = (field: string) => (path === '' ? field : `${path}.${field}`);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new CairnError(ERROR_CODES.VALIDATION, 'expected an object { program, effectiveFrom? }', { fields: [{ field: path === '' ? '(body)' : path, message: 'must be an object { program, effectiveFrom? }' }] });
  }
  const b = body as Record<string, unknown>;
  const fields: FieldError[] = [];
  for (const k of Object.keys(b)) if (k !== 'program' && k !== 'effectiveFrom') fields.push({ field: at(k), message: 'unknown field' });
  let effectiveFrom: string | undefined;
  if (b.effectiveFrom !== undefined) {
    if (typeof b.effectiveFrom === 'string' && INSTANT.test(b.effectiveFrom) && Number.isFinite(Date.parse(b.effectiveFrom))) effectiveFrom = new Date(b.effectiveFrom).toISOString();
    else fields.push({ field: at('effectiveFrom'), message: 'must be an ISO-8601 instant with an offset' });
  }
  const v = validateProgram(b.program);
  if (!v.ok) for (const e of v.errors) fields.push({ field: e.field === '(body)' ? at('program') : at(`program.${e.field}`), message: e.message });
  if (fields.length > 0 || !v.ok) throw new CairnError(ERROR_CODES.VALIDATION, `invalid loyalty program: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}`, { fields });
  return { program: v.program, effectiveFrom };
}
