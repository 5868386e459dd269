/**
 * Customer profile: a pure fold over a person's events.
 *
 * The fold is commutative over a set of distinct events: every field is a min, max, count, sum or
 * set, and per-order data is keyed by orderId with a deterministic winner. So arrival order never
 * changes a profile; business time (`occurredAt`) decides "first", "last" and "latest order".
 *
 * Because every part of the fold state is a commutative monoid, two profiles folded over disjoint
 * event sets combine exactly (`combineProfiles`): identity resolution keeps one profile per source
 * (a customer's or a visitor's stream) and derives a person's profile by combining its sources, so
 * a merge and its unmerge re-derive the people from their events without re-reading them.
 *
 * Every profile leaves `deriveProfile`, which builds the object in a fixed key order with sorted
 * records: equal content gives equal JSON bytes.
 */
import { addConsentChange, consentAsOf, consentChange, mergeConsentLogs, type ConsentChange, type ConsentLog, type ConsentView } from './consent';
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
  /** Quantity per category of the order's items (only when some item has a category). */
  readonly categories?: Readonly<Record<string, number>>;
  /** The referral code the order carried, if any. */
  readonly referralCode?: string;
}

export interface CategoryCount {
  readonly category: string;
  readonly count: number;
}

export interface ReviewStats {
  readonly count: number;
  readonly averageRating: number | null;
  /** Reviews per rating, index 0 = rating 1. */
  readonly distribution: readonly [number, number, number, number, number];
}

export interface ReferralStats {
  /** Referral events sent by this customer (as referrer). */
  readonly made: number;
  /** Distinct referee ids named by those events. */
  readonly distinctReferees: number;
  /** This customer's orders that carried a referral code (they were referred). */
  readonly referredOrders: number;
}

export interface ReturnRate {
  /** Share of orders with at least one return, 0–1 (4 decimals); null without orders. */
  readonly orders: number | null;
  /** Refunded / gross in the base currency, 0–1 (4 decimals); null without base-currency revenue. */
  readonly value: number | null;
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
  readonly firstOrder: OrderSummary | null;
  readonly lastOrder: OrderSummary | null;
  /** Median gap between consecutive orders in days (2 decimals); null below two orders. */
  readonly medianDaysBetweenOrders: number | null;
  readonly reviews: number;
  readonly averageRating: number | null;
  readonly reviewStats: ReviewStats;
  readonly referralsMade: number;
  readonly referralStats: ReferralStats;
  readonly returnRate: ReturnRate;
  /** Top categories by views and by purchased quantity (at most 5 each; count desc, name asc). */
  readonly favouriteCategories: { readonly viewed: readonly CategoryCount[]; readonly purchased: readonly CategoryCount[] };
  readonly channels: readonly Channel[];
  /** Money in currencies other than the base currency, never converted. */
  readonly otherCurrencies: Readonly<Record<string, MoneyTotals>>;
  /**
   * Consent per purpose after every change the profile holds, with its history (oldest first).
   * Changes may be dated up to 24 h ahead: readers recompute it as of their instant (`consentAsOf`).
   */
  readonly consent: ConsentView;
  /** Fold state kept for exact recomputation and combination. */
  readonly state: ProfileState;
}

export interface ProfileState {
  readonly orders: Readonly<Record<string, OrderSummary>>;
  /** Refunds by currency, in minor units. */
  readonly refunds: Readonly<Record<string, number>>;
  /** Refunds by orderId (any currency): which orders saw a return. */
  readonly orderRefunds: Readonly<Record<string, number>>;
  readonly ratingSum: number;
  readonly ratings: readonly [number, number, number, number, number];
  readonly categoryViews: Readonly<Record<string, number>>;
  /** Distinct referee ids named by this customer's referrals, sorted. */
  readonly referees: readonly string[];
  /**
   * Dated non-order activity for rolling-window conditions (orders are dated in `orders`): views,
   * returns, reviews, referrals within ACTIVITY_HORIZON_DAYS of `lastSeenAt`, sorted. Pruning is
   * relative to the latest event, so it does not depend on arrival order.
   */
  readonly activity: readonly ActivityEntry[];
  /** Consent changes per purpose, sorted by (occurredAt, withdrawn after granted, event id); a set by event id. */
  readonly consent: ConsentLog;
}

/** [occurredAt (UTC ISO), kind, category (views) or null, amount (base-currency refund of returns; rating of reviews; else 0)]. */
export type ActivityEntry = readonly [string, 'view' | 'return' | 'review' | 'referral', string | null, number];

/** Activity older than this before the latest event is dropped (rolling windows are at most 365 days). */
export const ACTIVITY_HORIZON_DAYS = 400;

/** What the fold needs of a recorded event. */
export interface FoldableEvent {
  readonly id: string;
  readonly type: CairnEvent['type'];
  readonly data: CairnEvent['data'];
}

/** Normalises an ISO instant with offset to UTC milliseconds ISO, comparable as a string. */
export function toUtcIso(instant: string): string {
  // Most instants are already in that form (every Date#toISOString); the regex admits only those
  // that round-trip unchanged (days up to 28: no month overflows), so the result is the same.
  if (CANONICAL_UTC.test(instant)) return instant;
  return new Date(instant).toISOString();
}

const CANONICAL_UTC = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

const TOP_CATEGORIES = 5;
const DAY_MS = 86_400_000;

/**
 * The part of a profile that is folded; everything else is derived from it (`deriveProfile`).
 * Projections keep cores in memory and derive only when they write.
 */
export interface ProfileCore {
  readonly customerId: string;
  readonly currency: string;
  readonly firstSeenAt: string;
  readonly lastSeenAt: string;
  readonly views: number;
  readonly reviews: number;
  readonly referralsMade: number;
  readonly channels: readonly Channel[];
  readonly state: ProfileState;
}

type Core = ProfileCore;

function emptyCore(customerId: string, at: string, currency: string): Core {
  return {
    customerId,
    currency,
    firstSeenAt: at,
    lastSeenAt: at,
    views: 0,
    reviews: 0,
    referralsMade: 0,
    channels: [],
    state: { orders: {}, refunds: {}, orderRefunds: {}, ratingSum: 0, ratings: [0, 0, 0, 0, 0], categoryViews: {}, referees: [], activity: [], consent: {} },
  };
}

function beats(a: OrderSummary, b: OrderSummary): boolean {
  return a.occurredAt < b.occurredAt || (a.occurredAt === b.occurredAt && a.eventId < b.eventId);
}

/*
 * Records are keyed by client data (order ids, categories), which may be `constructor`,
 * `toString` or `__proto__`: reads go through `own` (never the prototype) and writes through `put`
 * (an own data property even for `__proto__`).
 */
function own<V>(r: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.prototype.hasOwnProperty.call(r, key) ? r[key] : undefined;
}

function put<V>(r: Record<string, V>, key: string, v: V): void {
  Object.defineProperty(r, key, { value: v, enumerable: true, writable: true, configurable: true });
}

function sortedRecord<V>(r: Readonly<Record<string, V>>, map: (v: V) => V = (v) => v): Record<string, V> {
  const out: Record<string, V> = {};
  for (const k of Object.keys(r).sort()) put(out, k, map(r[k] as V));
  return out;
}

function sumRecords(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = { ...a };
  for (const [k, v] of Object.entries(b)) put(out, k, (own(out, k) ?? 0) + v);
  return out;
}

function canonicalOrder(o: OrderSummary): OrderSummary {
  return {
    orderId: o.orderId,
    occurredAt: o.occurredAt,
    totalMinor: o.totalMinor,
    currency: o.currency,
    eventId: o.eventId,
    ...(o.categories !== undefined ? { categories: sortedRecord(o.categories) } : {}),
    ...(o.referralCode !== undefined ? { referralCode: o.referralCode } : {}),
  };
}

function top(counts: ReadonlyMap<string, number> | Readonly<Record<string, number>>): CategoryCount[] {
  const entries = counts instanceof Map ? [...counts.entries()] : Object.entries(counts);
  return entries
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, TOP_CATEGORIES)
    .map(([category, count]) => ({ category, count }));
}

function ratio4(num: number, den: number): number | null {
  return den === 0 ? null : Math.round((num / den) * 10_000) / 10_000;
}

function orderCmp(a: OrderSummary, b: OrderSummary): number {
  return a.occurredAt < b.occurredAt ? -1 : a.occurredAt > b.occurredAt ? 1 : a.orderId < b.orderId ? -1 : a.orderId > b.orderId ? 1 : 0;
}

/** Builds the full profile from its folded core: fixed key order, sorted records. */
export function deriveProfile(core: ProfileCore): Profile {
  const s = core.state;
  const orders = Object.keys(s.orders)
    .sort()
    .map((k) => canonicalOrder(s.orders[k] as OrderSummary));
  const chronological = [...orders].sort(orderCmp);
  const totals = new Map<string, { gross: number; orders: number }>();
  const purchased = new Map<string, number>();
  let referredOrders = 0;
  let returnedOrders = 0;
  for (const o of orders) {
    const t = totals.get(o.currency) ?? { gross: 0, orders: 0 };
    t.gross += o.totalMinor;
    t.orders += 1;
    totals.set(o.currency, t);
    for (const [c, q] of Object.entries(o.categories ?? {})) purchased.set(c, (purchased.get(c) ?? 0) + q);
    if (o.referralCode !== undefined) referredOrders += 1;
    if (Object.prototype.hasOwnProperty.call(s.orderRefunds, o.orderId)) returnedOrders += 1;
  }
  const currencies = new Set([...totals.keys(), ...Object.keys(s.refunds)]);
  const other: Record<string, MoneyTotals> = {};
  for (const c of [...currencies].sort()) {
    if (c === core.currency) continue;
    const gross = totals.get(c)?.gross ?? 0;
    const refunded = own(s.refunds, c) ?? 0;
    other[c] = { grossMinor: gross, refundedMinor: refunded, netMinor: gross - refunded, orders: totals.get(c)?.orders ?? 0 };
  }
  const base = totals.get(core.currency) ?? { gross: 0, orders: 0 };
  const refunded = own(s.refunds, core.currency) ?? 0;
  const gaps: number[] = [];
  for (let i = 1; i < chronological.length; i++) {
    gaps.push((Date.parse(chronological[i]!.occurredAt) - Date.parse(chronological[i - 1]!.occurredAt)) / DAY_MS);
  }
  gaps.sort((a, b) => a - b);
  const median =
    gaps.length === 0 ? null : gaps.length % 2 === 1 ? gaps[(gaps.length - 1) / 2]! : (gaps[gaps.length / 2 - 1]! + gaps[gaps.length / 2]!) / 2;
  const averageRating = core.reviews === 0 ? null : Math.round((s.ratingSum / core.reviews) * 100) / 100;
  const state: ProfileState = {
    orders: Object.fromEntries(orders.map((o) => [o.orderId, o])),
    refunds: sortedRecord(s.refunds),
    orderRefunds: sortedRecord(s.orderRefunds),
    ratingSum: s.ratingSum,
    ratings: [...s.ratings] as unknown as ProfileState['ratings'],
    categoryViews: sortedRecord(s.categoryViews),
    referees: [...s.referees],
    activity: pruneActivity([...s.activity].sort(compareActivity), core.lastSeenAt),
    consent: mergeConsentLogs(s.consent),
  };
  return {
    customerId: core.customerId,
    firstSeenAt: core.firstSeenAt,
    lastSeenAt: core.lastSeenAt,
    views: core.views,
    orders: orders.length,
    currency: core.currency,
    grossMinor: base.gross,
    refundedMinor: refunded,
    netMinor: base.gross - refunded,
    aovMinor: base.orders === 0 ? null : Math.floor((2 * base.gross + base.orders) / (2 * base.orders)),
    firstOrder: chronological[0] ?? null,
    lastOrder: chronological[chronological.length - 1] ?? null,
    medianDaysBetweenOrders: median === null ? null : Math.round(median * 100) / 100,
    reviews: core.reviews,
    averageRating,
    reviewStats: { count: core.reviews, averageRating, distribution: [...s.ratings] as unknown as ReviewStats['distribution'] },
    referralsMade: core.referralsMade,
    referralStats: { made: core.referralsMade, distinctReferees: s.referees.length, referredOrders },
    returnRate: { orders: ratio4(returnedOrders, orders.length), value: ratio4(refunded, base.gross) },
    favouriteCategories: { viewed: top(s.categoryViews), purchased: top(purchased) },
    channels: [...core.channels],
    otherCurrencies: other,
    consent: consentAsOf(state.consent),
    state,
  };
}

/** The folded core of a stored profile (the inverse of `deriveProfile`). */
export function profileCore(p: Profile): ProfileCore {
  return coreOf(p);
}

function coreOf(p: Profile): Core {
  // Profiles stored before the extension lack some state: default it. Every container is copied:
  // the fold mutates its core in place.
  const st = { ...emptyCore('', '', '').state, ...p.state };
  return {
    customerId: p.customerId,
    currency: p.currency,
    firstSeenAt: p.firstSeenAt,
    lastSeenAt: p.lastSeenAt,
    views: p.views,
    reviews: p.reviews,
    referralsMade: p.referralsMade,
    channels: [...p.channels],
    state: {
      orders: copyRecord(st.orders),
      refunds: copyRecord(st.refunds),
      orderRefunds: copyRecord(st.orderRefunds),
      ratingSum: st.ratingSum,
      ratings: [...st.ratings] as unknown as ProfileState['ratings'],
      categoryViews: copyRecord(st.categoryViews),
      referees: [...st.referees],
      activity: [...(st.activity ?? [])],
      consent: copyConsent(st.consent),
    },
  };
}

function copyConsent(log: ConsentLog | undefined): Record<string, ConsentChange[]> {
  const out: Record<string, ConsentChange[]> = {};
  for (const k of Object.keys(log ?? {})) set(out, k, [...(log![k] ?? [])]);
  return out;
}

function copyRecord<V>(r: Readonly<Record<string, V>>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const k of Object.keys(r)) set(out, k, r[k] as V);
  return out;
}

/**
 * evolve(state, event) for one profile. `customerId` is the profile's key (the stream's subject:
 * a customer id, or a visitor's source key); events of other subjects must not be passed in.
 */
export function evolveProfile(current: Profile | undefined, customerId: string, event: FoldableEvent, rules: ProfileRules): Profile {
  return evolveProfileMany(current, customerId, [event], rules);
}

/** `events.reduce(evolveProfile)`, but the derived fields are computed once, at the end (batches). */
export function evolveProfileMany(current: Profile | undefined, customerId: string, events: readonly FoldableEvent[], rules: ProfileRules): Profile {
  let c: Core | undefined = current === undefined ? undefined : coreOf(current);
  for (const e of events) c = foldCore(c ?? emptyCore(customerId, toUtcIso(e.data.occurredAt), rules.currency), e, rules);
  if (c === undefined) throw new Error('evolveProfileMany needs a profile or at least one event');
  return deriveProfile(c);
}

/**
 * One event into a core (`undefined`: the source's first event), keyed `customerId`. The core
 * passed in is folded in place and returned: its owner must not share it. An event that cannot be
 * folded throws before anything changes.
 */
export function foldProfileCore(current: ProfileCore | undefined, customerId: string, event: FoldableEvent, rules: ProfileRules): ProfileCore {
  return foldCore(current ?? emptyCore(customerId, toUtcIso(event.data.occurredAt), rules.currency), event, rules);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Sets an own property (assignment, except for `__proto__`, which would set the prototype). */
function set<V>(r: Record<string, V>, key: string, v: V): void {
  if (key === '__proto__') put(r, key, v);
  else r[key] = v;
}

/**
 * One event into a core, IN PLACE (the core is private to its owner: `evolveProfileMany` folds a
 * copy, projections own theirs), so folding a long history costs no copies. Everything that can
 * throw is computed before the first mutation: an event that cannot be folded leaves the core as
 * it was.
 */
function foldCore(c: Core, event: FoldableEvent, rules: ProfileRules): Core {
  const at = toUtcIso(event.data.occurredAt);
  const channel = event.data.channel;
  const entry = activityEntry(event, at, rules.currency);
  let order: OrderSummary | undefined;
  let consent: { purpose: string; change: ConsentChange } | undefined;
  if (event.type === 'cairn.consent.v1') {
    const d = event.data as Extract<CairnEvent, { type: 'cairn.consent.v1' }>['data'];
    if (d.status !== 'granted' && d.status !== 'withdrawn') throw new Error(`consent status ${String(d.status)} is neither granted nor withdrawn`);
    consent = { purpose: d.purpose, change: consentChange({ status: d.status, occurredAt: at, source: d.source, policyVersion: d.policyVersion, eventId: event.id }) };
  }
  if (event.type === 'cairn.purchase.v1') {
    const d = event.data as Extract<CairnEvent, { type: 'cairn.purchase.v1' }>['data'];
    let categories: Record<string, number> | undefined;
    for (const item of d.items) {
      if (item.category === undefined) continue;
      categories ??= {};
      set(categories, item.category, (own(categories, item.category) ?? 0) + item.quantity);
    }
    order = {
      orderId: d.orderId,
      occurredAt: at,
      totalMinor: d.totalMinor,
      currency: d.currency,
      eventId: event.id,
      ...(categories !== undefined ? { categories } : {}),
      ...(d.referralCode !== undefined ? { referralCode: d.referralCode } : {}),
    };
  }
  const m = c as Mutable<Core>;
  const s = c.state as Mutable<ProfileState> & {
    orders: Record<string, OrderSummary>;
    refunds: Record<string, number>;
    orderRefunds: Record<string, number>;
    categoryViews: Record<string, number>;
    ratings: [number, number, number, number, number];
    referees: string[];
    activity: ActivityEntry[];
    consent: Record<string, ConsentChange[]>;
  };
  if (at < c.firstSeenAt) m.firstSeenAt = at;
  if (at > c.lastSeenAt) m.lastSeenAt = at;
  if (!c.channels.includes(channel)) m.channels = [...c.channels, channel].sort();
  switch (event.type) {
    case 'cairn.view.v1': {
      const d = event.data as Extract<CairnEvent, { type: 'cairn.view.v1' }>['data'];
      m.views = c.views + 1;
      if (d.category !== undefined) set(s.categoryViews, d.category, (own(s.categoryViews, d.category) ?? 0) + 1);
      break;
    }
    case 'cairn.purchase.v1': {
      const existing = own(s.orders, order!.orderId);
      if (existing === undefined || beats(order!, existing)) set(s.orders, order!.orderId, order!);
      break;
    }
    case 'cairn.return.v1': {
      const d = event.data as Extract<CairnEvent, { type: 'cairn.return.v1' }>['data'];
      set(s.refunds, d.currency, (own(s.refunds, d.currency) ?? 0) + d.refundMinor);
      set(s.orderRefunds, d.orderId, (own(s.orderRefunds, d.orderId) ?? 0) + d.refundMinor);
      break;
    }
    case 'cairn.review.v1': {
      const d = event.data as Extract<CairnEvent, { type: 'cairn.review.v1' }>['data'];
      if (d.rating >= 1 && d.rating <= 5) s.ratings[Math.round(d.rating) - 1] += 1;
      m.reviews = c.reviews + 1;
      s.ratingSum = s.ratingSum + d.rating;
      break;
    }
    case 'cairn.referral.v1': {
      const d = event.data as Extract<CairnEvent, { type: 'cairn.referral.v1' }>['data'];
      m.referralsMade = c.referralsMade + 1;
      if (d.refereeId !== undefined && !s.referees.includes(d.refereeId)) {
        s.referees.push(d.refereeId);
        s.referees.sort();
      }
      break;
    }
    case 'cairn.identify.v1':
    // Seen (first/last seen, channels) and in the timeline; no figure of the profile counts it.
    case 'cairn.custom.v1':
      break;
    case 'cairn.consent.v1':
      addConsentChange(s.consent, consent!.purpose, consent!.change);
      break;
    default: {
      const unreachable: never = event.type;
      throw new Error(`unknown event type ${String(unreachable)}`);
    }
  }
  if (entry !== null) s.activity.push(entry);
  return c;
}

/**
 * The profile of the union of two disjoint event sets (e.g. two streams of one person), keyed
 * `customerId`. Commutative and associative; `combineProfiles([p], id)` only re-keys `p`.
 */
export function combineProfiles(profiles: readonly Profile[], customerId: string): Profile {
  if (profiles.length === 0) throw new Error('combineProfiles needs at least one profile');
  // Every profile leaves deriveProfile, which is idempotent: one profile under its own key is already the answer.
  if (profiles.length === 1 && profiles[0]!.customerId === customerId) return profiles[0]!;
  const cores = profiles.map(coreOf);
  let acc: Core = { ...cores[0]!, customerId };
  for (const c of cores.slice(1)) {
    const a = acc.state;
    const b = c.state;
    const orders: Record<string, OrderSummary> = { ...a.orders };
    for (const [id, o] of Object.entries(b.orders)) {
      const existing = own(orders, id);
      if (existing === undefined || beats(o, existing)) put(orders, id, o);
    }
    acc = {
      customerId,
      currency: acc.currency,
      firstSeenAt: c.firstSeenAt < acc.firstSeenAt ? c.firstSeenAt : acc.firstSeenAt,
      lastSeenAt: c.lastSeenAt > acc.lastSeenAt ? c.lastSeenAt : acc.lastSeenAt,
      views: acc.views + c.views,
      reviews: acc.reviews + c.reviews,
      referralsMade: acc.referralsMade + c.referralsMade,
      channels: [...new Set([...acc.channels, ...c.channels])].sort(),
      state: {
        orders,
        refunds: sumRecords(a.refunds, b.refunds),
        orderRefunds: sumRecords(a.orderRefunds, b.orderRefunds),
        ratingSum: a.ratingSum + b.ratingSum,
        ratings: a.ratings.map((n, i) => n + (b.ratings[i] ?? 0)) as unknown as ProfileState['ratings'],
        categoryViews: sumRecords(a.categoryViews, b.categoryViews),
        referees: [...new Set([...a.referees, ...b.referees])].sort(),
        activity: [...a.activity, ...b.activity].sort(compareActivity),
        consent: mergeConsentLogs(a.consent, b.consent),
      },
    };
  }
  return deriveProfile(acc);
}

export type LifecycleStage = 'new' | 'active' | 'at_risk' | 'lapsed';

export interface LifecycleRules {
  /** First order (or first seen, without orders) within this many days → new. */
  readonly newDays: number;
  /** Last order within this many days → active. */
  readonly activeDays: number;
  /** Last order within this many days (and not active) → at risk; beyond → lapsed. */
  readonly lapsedDays: number;
}

export const DEFAULT_LIFECYCLE_RULES: LifecycleRules = { newDays: 30, activeDays: 90, lapsedDays: 180 };

/** The lifecycle stage as of `asOf` (an instant); pure, so "now" is passed in. */
export function lifecycleStage(p: Profile, asOf: Date, rules: LifecycleRules = DEFAULT_LIFECYCLE_RULES): LifecycleStage {
  const now = asOf.getTime();
  const daysSince = (iso: string) => (now - Date.parse(iso)) / DAY_MS;
  if (p.firstOrder === null || p.lastOrder === null) return daysSince(p.firstSeenAt) <= rules.newDays ? 'new' : 'lapsed';
  if (daysSince(p.firstOrder.occurredAt) <= rules.newDays) return 'new';
  const sinceLast = daysSince(p.lastOrder.occurredAt);
  if (sinceLast <= rules.activeDays) return 'active';
  if (sinceLast <= rules.lapsedDays) return 'at_risk';
  return 'lapsed';
}

/** The profile of no events (all counts zero), keyed `customerId`, seen at `at`. */
export function emptyProfile(customerId: string, at: string, currency: string): Profile {
  return deriveProfile(emptyCore(customerId, at, currency));
}

function compareActivity(a: ActivityEntry, b: ActivityEntry): number {
  for (let i = 0; i < 4; i++) {
    const x = a[i] ?? '';
    const y = b[i] ?? '';
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}

function pruneActivity(list: readonly ActivityEntry[] | undefined, lastSeenAt: string): ActivityEntry[] {
  if (list === undefined || list.length === 0) return [];
  const horizon = new Date(Date.parse(lastSeenAt) - ACTIVITY_HORIZON_DAYS * DAY_MS).toISOString();
  let i = 0;
  while (i < list.length && list[i]![0] < horizon) i++;
  return list.slice(i).map((e) => [e[0], e[1], e[2], e[3]] as const);
}

function activityEntry(event: FoldableEvent, at: string, currency: string): ActivityEntry | null {
  switch (event.type) {
    case 'cairn.view.v1': {
      const d = event.data as Extract<CairnEvent, { type: 'cairn.view.v1' }>['data'];
      return [at, 'view', d.category ?? null, 0];
    }
    case 'cairn.return.v1': {
      const d = event.data as Extract<CairnEvent, { type: 'cairn.return.v1' }>['data'];
      return [at, 'return', null, d.currency === currency ? d.refundMinor : 0];
    }
    case 'cairn.review.v1': {
      const d = event.data as Extract<CairnEvent, { type: 'cairn.review.v1' }>['data'];
      return [at, 'review', null, d.rating];
    }
    case 'cairn.referral.v1':
      return [at, 'referral', null, 0];
    case 'cairn.purchase.v1':
    case 'cairn.identify.v1':
    case 'cairn.consent.v1':
    case 'cairn.custom.v1':
      return null;
    default: {
      const unreachable: never = event.type;
      throw new Error(`unknown event type ${String(unreachable)}`);
    }
  }
}
