/**
 * Win-back and reward vouchers: automation rules ("when a customer enters segment S, issue a
 * voucher of value V valid D days, at most once per P days"), the vouchers they issue, their
 * redemption by a purchase's `couponCode`, and the rules' metrics. Pure functions; the rules are
 * versioned as events (`cairn.automation.defined.v1`), vouchers are `cairn.voucher.issued.v1`.
 */
import { createHash } from 'crypto';
import { CairnError, ERROR_CODES, type FieldError } from '../errors';
import { CONSENT_PURPOSE_RULE, isConsentPurpose } from '../events';

export const AUTOMATION_DEFINED = 'cairn.automation.defined.v1';
export const AUTOMATION_DELETED = 'cairn.automation.deleted.v1';
export const VOUCHER_ISSUED = 'cairn.voucher.issued.v1';
export const automationStream = (id: string) => `automation-${id}`;
export const automationVouchersStream = (id: string) => `automation-vouchers-${id}`;

export type VoucherValue = { readonly kind: 'percent'; readonly percent: number } | { readonly kind: 'fixed'; readonly amountMinor: number; readonly currency: string };

export interface AutomationRule {
  readonly name: string;
  /** The trigger: the customer enters this segment (a segment on lifecycleStage = lapsed for win-back). */
  readonly segmentId: string;
  readonly voucher: VoucherValue;
  /** Days the voucher is valid. */
  readonly validDays: number;
  /** At most one voucher (or hold-out) per customer and rule within this many days. */
  readonly oncePerDays: number;
  /** Share of triggered customers (0–50 %) kept as a hold-out: no voucher, counted for the win-back rate. */
  readonly holdoutPercent: number;
  /**
   * A consent purpose (e.g. email_marketing) the customer must have granted at the trigger's
   * instant; without it the trigger is recorded as `withheld` (no voucher, no hold-out, and it does
   * not count towards oncePerDays). Absent: no consent is checked.
   */
  readonly requiresConsent?: string;
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const int = (v: unknown, min: number, max: number) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/** Validates a rule body; 400 naming every offending field. */
export function parseAutomationBody(body: unknown): AutomationRule {
  const fields: FieldError[] = [];
  if (!isObj(body)) throw new CairnError(ERROR_CODES.VALIDATION, 'the body must be a JSON object', { fields: [{ field: 'body', message: 'expected a JSON object' }] });
  const allowed = ['name', 'segmentId', 'voucher', 'validDays', 'oncePerDays', 'holdoutPercent', 'requiresConsent'];
  for (const k of Object.keys(body)) if (!allowed.includes(k)) fields.push({ field: k, message: `unknown key (expected ${allowed.join(', ')})` });
  if (typeof body.name !== 'string' || body.name.trim() === '' || body.name.length > 200) fields.push({ field: 'name', message: 'must be a non-empty string of at most 200 characters' });
  if (typeof body.segmentId !== 'string' || !/^[0-9a-f-]{36}$/i.test(body.segmentId)) fields.push({ field: 'segmentId', message: 'must be a segment id (POST /v1/segments)' });
  let voucher: VoucherValue | undefined;
  const v = body.voucher;
  if (!isObj(v) || (v.kind !== 'percent' && v.kind !== 'fixed')) fields.push({ field: 'voucher.kind', message: 'must be percent or fixed' });
  else if (v.kind === 'percent') {
    if (!int(v.percent, 1, 100)) fields.push({ field: 'voucher.percent', message: 'must be an integer from 1 to 100' });
    else voucher = { kind: 'percent', percent: v.percent as number };
  } else {
    if (!int(v.amountMinor, 1, 1_000_000_000_000)) fields.push({ field: 'voucher.amountMinor', message: 'must be an integer of minor units from 1 to 10^12' });
    if (typeof v.currency !== 'string' || !/^[A-Z]{3}$/.test(v.currency)) fields.push({ field: 'voucher.currency', message: 'must be an ISO 4217 code in upper case' });
    if (fields.length === 0) voucher = { kind: 'fixed', amountMinor: v.amountMinor as number, currency: v.currency as string };
  }
  if (!int(body.validDays, 1, 3650)) fields.push({ field: 'validDays', message: 'must be an integer from 1 to 3650' });
  if (!int(body.oncePerDays, 1, 3650)) fields.push({ field: 'oncePerDays', message: 'must be an integer from 1 to 3650' });
  if (body.holdoutPercent !== undefined && !int(body.holdoutPercent, 0, 50)) fields.push({ field: 'holdoutPercent', message: 'must be an integer from 0 to 50' });
  if (body.requiresConsent !== undefined && body.requiresConsent !== null && !isConsentPurpose(body.requiresConsent)) fields.push({ field: 'requiresConsent', message: CONSENT_PURPOSE_RULE });
  if (fields.length > 0) throw new CairnError(ERROR_CODES.VALIDATION, `invalid automation: ${fields[0]!.field} ${fields[0]!.message}`, { fields });
  return {
    name: (body.name as string).trim(),
    segmentId: (body.segmentId as string).toLowerCase(),
    voucher: voucher!,
    validDays: body.validDays as number,
    oncePerDays: body.oncePerDays as number,
    holdoutPercent: (body.holdoutPercent as number | undefined) ?? 0,
    ...(typeof body.requiresConsent === 'string' ? { requiresConsent: body.requiresConsent } : {}),
  };
}

const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'; // no 0/O, 1/I

const CODE_SHAPE = new RegExp(`^WB-[${CODE_ALPHABET}]{4}-[${CODE_ALPHABET}]{4}-[${CODE_ALPHABET}]{4}$`);

/** Whether a coupon code can be one of Cairn's voucher codes (what `voucherCode` makes). */
export function isVoucherCode(code: string): boolean {
  return CODE_SHAPE.test(code);
}

/** The voucher code of a trigger: derived from (rule, source event), so a re-processed trigger gets the same code. 12 characters of 32: 60 bits. */
export function voucherCode(automationId: string, sourceEventId: string): string {
  const h = createHash('sha256').update(`${automationId}:${sourceEventId}`).digest();
  let code = '';
  for (let i = 0; i < 12; i++) code += CODE_ALPHABET[h[i]! % 32];
  return `WB-${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8)}`;
}

/** Whether a customer is in a rule's hold-out: a stable hash of (rule, customer) below the share. */
export function inHoldout(automationId: string, customerId: string, holdoutPercent: number): boolean {
  if (holdoutPercent <= 0) return false;
  const h = createHash('sha256').update(`${automationId}:${customerId}`).digest();
  return h.readUInt32BE(0) % 100 < holdoutPercent;
}

/** A trigger's outcome for a rule: a voucher, a hold-out, or nothing (within P days of the last one). */
export function grantFor(rule: AutomationRule & { id: string }, customerId: string, at: string, lastGrantAt: string | null): 'voucher' | 'holdout' | null {
  if (lastGrantAt !== null && Date.parse(at) - Date.parse(lastGrantAt) < rule.oncePerDays * 86_400_000) return null;
  return inHoldout(rule.id, customerId, rule.holdoutPercent) ? 'holdout' : 'voucher';
}

export interface Grant {
  readonly customerId: string;
  /** withheld: the rule requires a consent the customer had not granted at the trigger (counted, nothing issued). */
  readonly outcome: 'voucher' | 'holdout' | 'withheld';
  readonly triggeredAt: string;
  readonly code: string | null;
  readonly expiresAt: string;
}
export interface CouponUse {
  readonly eventId: string;
  readonly code: string;
  readonly customerId: string | null;
  readonly orderId: string;
  readonly occurredAt: string;
  readonly totalMinor: number;
  readonly currency: string;
}
export interface CustomerPurchase {
  readonly customerId: string;
  readonly occurredAt: string;
}

export interface Redemption {
  readonly code: string;
  readonly orderId: string;
  readonly eventId: string;
  readonly occurredAt: string;
  readonly totalMinor: number;
  readonly currency: string;
}

/**
 * Which purchase redeems each voucher: the first use by (occurredAt, event id) by its customer
 * between issue and expiry; every other use of an issued code is flagged (a second use, another
 * customer's, before issue or after expiry).
 */
export function redemptions(grants: readonly Grant[], uses: readonly CouponUse[]): { redeemed: Map<string, Redemption>; flagged: CouponUse[] } {
  const byCode = new Map(grants.filter((g) => g.code !== null).map((g) => [g.code!, g]));
  const sorted = [...uses].sort((a, b) => (a.occurredAt < b.occurredAt ? -1 : a.occurredAt > b.occurredAt ? 1 : a.eventId < b.eventId ? -1 : 1));
  const redeemed = new Map<string, Redemption>();
  const flagged: CouponUse[] = [];
  for (const u of sorted) {
    const g = byCode.get(u.code);
    if (!g) continue;
    const valid = u.customerId === g.customerId && u.occurredAt >= g.triggeredAt && u.occurredAt < g.expiresAt && !redeemed.has(u.code);
    if (valid) redeemed.set(u.code, { code: u.code, orderId: u.orderId, eventId: u.eventId, occurredAt: u.occurredAt, totalMinor: u.totalMinor, currency: u.currency });
    else flagged.push(u);
  }
  return { redeemed, flagged };
}

export interface AutomationMetrics {
  readonly vouchersIssued: number;
  readonly vouchersRedeemed: number;
  /** Totals of the redeeming orders, per currency. */
  readonly redeemingRevenueMinor: Record<string, number>;
  readonly flaggedUses: number;
  /** Triggers withheld because the customer had not granted the consent the rule requires. */
  readonly consentWithheld: number;
  /** Customers who bought within the voucher's validity after the trigger: with a voucher vs the hold-out. */
  readonly winBack: {
    readonly withVoucher: { readonly customers: number; readonly won: number; readonly rate: number | null };
    readonly holdout: { readonly customers: number; readonly won: number; readonly rate: number | null };
  };
}

/** A rule's metrics from its grants, the coupon uses of its codes and the purchases of its customers. */
export function automationMetrics(grants: readonly Grant[], uses: readonly CouponUse[], purchases: readonly CustomerPurchase[]): AutomationMetrics {
  const { redeemed, flagged } = redemptions(grants, uses);
  const revenue: Record<string, number> = {};
  for (const r of redeemed.values()) revenue[r.currency] = (revenue[r.currency] ?? 0) + r.totalMinor;
  const byCustomer = new Map<string, string[]>();
  for (const p of purchases) byCustomer.set(p.customerId, [...(byCustomer.get(p.customerId) ?? []), p.occurredAt]);
  const won = (g: Grant) => (byCustomer.get(g.customerId) ?? []).some((at) => at >= g.triggeredAt && at < g.expiresAt);
  const group = (outcome: 'voucher' | 'holdout') => {
    const gs = grants.filter((g) => g.outcome === outcome);
    const w = gs.filter(won).length;
    return { customers: gs.length, won: w, rate: gs.length === 0 ? null : w / gs.length };
  };
  return {
    vouchersIssued: grants.filter((g) => g.outcome === 'voucher').length,
    vouchersRedeemed: redeemed.size,
    redeemingRevenueMinor: revenue,
    flaggedUses: flagged.length,
    consentWithheld: grants.filter((g) => g.outcome === 'withheld').length,
    winBack: { withVoucher: group('voucher'), holdout: group('holdout') },
  };
}
