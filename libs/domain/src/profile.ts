/**
 * Customer profile v1: a pure fold over a customer's events.
 *
 * The fold is commutative over a set of distinct events: every field is a min, max, count, sum or
 * set, and per-order data is keyed by orderId with a deterministic winner. So arrival order never
 * changes a profile; business time (`occurredAt`) decides "first", "last" and "latest order".
 */
import type { CairnEvent, Channel } from './events';

export interface ProfileRules {
  /** The shop's base currency (ISO 4217): top-level money fields are in it. */
  readonly currency: string;
}

export interface MoneyTotals {
  readonly grossMinor: number;
  readonly refundedMinor: number;
  readonly netMinor: number;
  readonly orders: number;
}

export interface OrderSummary {
  readonly orderId: string;
  readonly occurredAt: string;
  readonly totalMinor: number;
  readonly currency: string;
  /** The event that recorded it; the smallest (occurredAt, eventId) wins when an order is re-sent. */
  readonly eventId: string;
}

export interface Profile {
  readonly customerId: string;
  readonly firstSeenAt: string;
  readonly lastSeenAt: string;
  readonly views: number;
  readonly orders: number;
  /** In the base currency. */
  readonly currency: string;
  readonly grossMinor: number;
  readonly refundedMinor: number;
  readonly netMinor: number;
  /** Average order value, gross, rounded half up; null before the first order. */
  readonly aovMinor: number | null;
  readonly lastOrder: OrderSummary | null;
  readonly reviews: number;
  readonly averageRating: number | null;
  readonly referralsMade: number;
  readonly channels: readonly Channel[];
  /** Money in currencies other than the base currency, never converted. */
  readonly otherCurrencies: Readonly<Record<string, MoneyTotals>>;
  /** Fold state kept for exact recomputation. */
  readonly state: ProfileState;
}

export interface ProfileState {
  readonly orders: Readonly<Record<string, OrderSummary>>;
  /** Refunds by currency, in minor units. */
  readonly refunds: Readonly<Record<string, number>>;
  readonly ratingSum: number;
}

/** What the fold needs of a recorded event. */
export interface FoldableEvent {
  readonly id: string;
  readonly type: CairnEvent['type'];
  readonly data: CairnEvent['data'];
}

/** Normalises an ISO instant with offset to UTC milliseconds ISO, comparable as a string. */
export function toUtcIso(instant: string): string {
  return new Date(instant).toISOString();
}

function emptyProfile(customerId: string, at: string, currency: string): Profile {
  return {
    customerId,
    firstSeenAt: at,
    lastSeenAt: at,
    views: 0,
    orders: 0,
    currency,
    grossMinor: 0,
    refundedMinor: 0,
    netMinor: 0,
    aovMinor: null,
    lastOrder: null,
    reviews: 0,
    averageRating: null,
    referralsMade: 0,
    channels: [],
    otherCurrencies: {},
    state: { orders: {}, refunds: {}, ratingSum: 0 },
  };
}

function beats(a: OrderSummary, b: OrderSummary): boolean {
  return a.occurredAt < b.occurredAt || (a.occurredAt === b.occurredAt && a.eventId < b.eventId);
}

/** Derives the money fields from the per-order and refund state. */
function withMoney(p: Profile, state: ProfileState): Profile {
  const totals = new Map<string, { gross: number; orders: number }>();
  let lastOrder: OrderSummary | null = null;
  for (const o of Object.values(state.orders)) {
    const t = totals.get(o.currency) ?? { gross: 0, orders: 0 };
    t.gross += o.totalMinor;
    t.orders += 1;
    totals.set(o.currency, t);
    if (lastOrder === null || o.occurredAt > lastOrder.occurredAt || (o.occurredAt === lastOrder.occurredAt && o.orderId > lastOrder.orderId)) {
      lastOrder = o;
    }
  }
  const currencies = new Set([...totals.keys(), ...Object.keys(state.refunds)]);
  const other: Record<string, MoneyTotals> = {};
  for (const c of [...currencies].sort()) {
    if (c === p.currency) continue;
    const gross = totals.get(c)?.gross ?? 0;
    const refunded = state.refunds[c] ?? 0;
    other[c] = { grossMinor: gross, refundedMinor: refunded, netMinor: gross - refunded, orders: totals.get(c)?.orders ?? 0 };
  }
  const base = totals.get(p.currency) ?? { gross: 0, orders: 0 };
  const refunded = state.refunds[p.currency] ?? 0;
  const orders = Object.keys(state.orders).length;
  return {
    ...p,
    orders,
    grossMinor: base.gross,
    refundedMinor: refunded,
    netMinor: base.gross - refunded,
    aovMinor: base.orders === 0 ? null : Math.floor((2 * base.gross + base.orders) / (2 * base.orders)),
    lastOrder,
    otherCurrencies: other,
    state,
  };
}

/**
 * evolve(state, event) for one customer's profile. `customerId` is the profile's key (the stream's
 * subject); events of other customers must not be passed in.
 */
export function evolveProfile(current: Profile | undefined, customerId: string, event: FoldableEvent, rules: ProfileRules): Profile {
  const at = toUtcIso(event.data.occurredAt);
  const base = current ?? emptyProfile(customerId, at, rules.currency);
  const channel = event.data.channel;
  let p: Profile = {
    ...base,
    firstSeenAt: at < base.firstSeenAt ? at : base.firstSeenAt,
    lastSeenAt: at > base.lastSeenAt ? at : base.lastSeenAt,
    channels: base.channels.includes(channel) ? base.channels : [...base.channels, channel].sort(),
  };
  switch (event.type) {
    case 'cairn.view.v1':
      return { ...p, views: p.views + 1 };
    case 'cairn.purchase.v1': {
      const d = event.data as Extract<CairnEvent, { type: 'cairn.purchase.v1' }>['data'];
      const candidate: OrderSummary = { orderId: d.orderId, occurredAt: at, totalMinor: d.totalMinor, currency: d.currency, eventId: event.id };
      const existing = p.state.orders[d.orderId];
      if (existing !== undefined && !beats(candidate, existing)) return p;
      return withMoney(p, { ...p.state, orders: { ...p.state.orders, [d.orderId]: candidate } });
    }
    case 'cairn.return.v1': {
      const d = event.data as Extract<CairnEvent, { type: 'cairn.return.v1' }>['data'];
      const refunds = { ...p.state.refunds, [d.currency]: (p.state.refunds[d.currency] ?? 0) + d.refundMinor };
      return withMoney(p, { ...p.state, refunds });
    }
    case 'cairn.review.v1': {
      const d = event.data as Extract<CairnEvent, { type: 'cairn.review.v1' }>['data'];
      const ratingSum = p.state.ratingSum + d.rating;
      const reviews = p.reviews + 1;
      p = { ...p, reviews, state: { ...p.state, ratingSum } };
      return { ...p, averageRating: Math.round((ratingSum / reviews) * 100) / 100 };
    }
    case 'cairn.referral.v1':
      return { ...p, referralsMade: p.referralsMade + 1 };
    case 'cairn.identify.v1':
      return p;
    default: {
      const unreachable: never = event.type;
      throw new Error(`unknown event type ${String(unreachable)}`);
    }
  }
}
