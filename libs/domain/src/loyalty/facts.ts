/**
 * What the loyalty ledger reads: compact facts derived from catalogue events (purchases, returns,
 * reviews, referrals) and from loyalty's own stored events (redemptions, program versions).
 *
 * Loyalty's stored event types live in their own streams: `loyalty-program` (program versions) and
 * `loyalty-<customerId>` (redemptions, appended with optimistic concurrency).
 */
import type { CairnEvent } from '../events';
import { toUtcIso } from '../profile';
import type { LoyaltyProgram } from './program';

export const LOYALTY_PROGRAM_STREAM = 'loyalty-program';
export const PROGRAM_DEFINED_TYPE = 'cairn.loyalty.program-defined.v1';
export const REDEEMED_TYPE = 'cairn.loyalty.redeemed.v1';
export const ADJUSTED_TYPE = 'cairn.loyalty.adjusted.v1';
export const loyaltyStreamFor = (customerId: string): string => `loyalty-${customerId}`;

export interface ProgramDefinedV1 {
  readonly type: typeof PROGRAM_DEFINED_TYPE;
  readonly data: { readonly version: number; readonly effectiveFrom: string; readonly recordedAt: string; readonly program: LoyaltyProgram };
}
export interface RedeemedV1 {
  readonly type: typeof REDEEMED_TYPE;
  readonly data: { readonly customerId: string; readonly points: number; readonly occurredAt: string; readonly reference?: string };
}

export interface AdjustedV1 {
  readonly type: typeof ADJUSTED_TYPE;
  readonly data: { readonly customerId: string; readonly points: number; readonly reason: string; readonly occurredAt: string };
}

interface FactBase {
  /** The causing event's id. */
  readonly id: string;
  readonly customerId: string;
  /** UTC ISO (business time). */
  readonly occurredAt: string;
  /** UTC ISO (arrival time): a fact arriving well after its business time is late. */
  readonly receivedAt: string;
}
export interface PurchaseFact extends FactBase {
  readonly kind: 'purchase';
  readonly orderId: string;
  readonly currency: string;
  readonly items: readonly { readonly productId: string; readonly category?: string; readonly amountMinor: number }[];
  readonly discountMinor: number;
  readonly totalMinor: number;
  readonly referralCode?: string;
}
export interface ReturnFact extends FactBase {
  readonly kind: 'return';
  readonly orderId: string;
  readonly currency: string;
  readonly refundMinor: number;
}
export interface ReviewFact extends FactBase {
  readonly kind: 'review';
  readonly productId: string;
}
export interface ReferralFact extends FactBase {
  readonly kind: 'referral';
  readonly referralCode: string;
  readonly refereeId?: string;
}
export interface RedemptionFact extends FactBase {
  readonly kind: 'redemption';
  readonly points: number;
  readonly reference?: string;
}
/** A manual correction by an admin: positive adds available points, negative removes them. */
export interface AdjustmentFact extends FactBase {
  readonly kind: 'adjustment';
  readonly points: number;
  readonly reason: string;
}
export type LoyaltyFact = PurchaseFact | ReturnFact | ReviewFact | ReferralFact | RedemptionFact | AdjustmentFact;

/** The loyalty fact of a catalogue event, or null when loyalty ignores it (views, identify, anonymous). */
export function toLoyaltyFact(e: { readonly id: string; readonly type: CairnEvent['type']; readonly data: CairnEvent['data']; readonly metadata?: { readonly receivedAt?: string } }): LoyaltyFact | null {
  const customerId = e.data.customerId;
  if (customerId === undefined) return null;
  const occurredAt = toUtcIso(e.data.occurredAt);
  const receivedAt = e.metadata?.receivedAt !== undefined ? toUtcIso(e.metadata.receivedAt) : occurredAt;
  const base = { id: e.id, customerId, occurredAt, receivedAt };
  switch (e.type) {
    case 'cairn.purchase.v1': {
      const d = e.data as Extract<CairnEvent, { type: 'cairn.purchase.v1' }>['data'];
      return {
        ...base,
        kind: 'purchase',
        orderId: d.orderId,
        currency: d.currency,
        items: d.items.map((i) => ({ productId: i.productId, ...(i.category !== undefined ? { category: i.category } : {}), amountMinor: i.quantity * i.unitPriceMinor })),
        discountMinor: d.discountMinor ?? 0,
        totalMinor: d.totalMinor,
        ...(d.referralCode !== undefined ? { referralCode: d.referralCode } : {}),
      };
    }
    case 'cairn.return.v1': {
      const d = e.data as Extract<CairnEvent, { type: 'cairn.return.v1' }>['data'];
      return { ...base, kind: 'return', orderId: d.orderId, currency: d.currency, refundMinor: d.refundMinor };
    }
    case 'cairn.review.v1': {
      const d = e.data as Extract<CairnEvent, { type: 'cairn.review.v1' }>['data'];
      return { ...base, kind: 'review', productId: d.productId };
    }
    case 'cairn.referral.v1': {
      const d = e.data as Extract<CairnEvent, { type: 'cairn.referral.v1' }>['data'];
      return { ...base, kind: 'referral', referralCode: d.referralCode, ...(d.refereeId !== undefined ? { refereeId: d.refereeId } : {}) };
    }
    case 'cairn.view.v1':
    case 'cairn.identify.v1':
    // Consent earns nothing; loyalty is a ledger of what the person did, not what they allow.
    case 'cairn.consent.v1':
    // A custom event is the shop's own record; the program has no rule for it.
    case 'cairn.custom.v1':
      return null;
    default: {
      const unreachable: never = e.type;
      void unreachable;
      return null;
    }
  }
}
