/**
 * Retention and KPI definitions (docs/metrics.md has the prose). Pure functions over compact facts;
 * every date is a local calendar day in the shop's timezone (periods.ts), every amount minor units.
 */
import { addPeriods, LocalCalendar, periodLabel, periodOf, periodStartDay, type PeriodUnit } from './periods';

export interface OrderFact {
  readonly customerId: string;
  readonly orderId: string;
  /** occurredAt, epoch ms. */
  readonly at: number;
  readonly totalMinor: number;
  readonly currency: string;
  readonly referralCode?: string | null;
}
export interface RefundFact {
  readonly customerId: string;
  readonly orderId: string;
  readonly at: number;
  readonly refundMinor: number;
}
/** Any non-purchase activity (views, reviews, referrals, identify). */
export interface ActivityFact {
  readonly kind: 'view' | 'review' | 'referral' | 'identify';
  readonly customerId?: string | null;
  readonly anonymousId?: string | null;
  readonly at: number;
  readonly rating?: number | null;
  readonly referralCode?: string | null;
  readonly refereeId?: string | null;
}
export interface Facts {
  /** true when `orders` holds each (customerId, orderId) once already (see uniqueOrders). */
  readonly unique?: boolean;
  readonly orders: readonly OrderFact[];
  readonly returns: readonly RefundFact[];
  readonly activity: readonly ActivityFact[];
}

/**
 * Which of two copies of one order counts: the earliest (by occurredAt), then the smaller total,
 * then currency and referral code (so two copies differing only there still give one answer,
 * whatever order they arrived in).
 */
export function beatsOrder(o: OrderFact, cur: OrderFact): boolean {
  if (o.at !== cur.at) return o.at < cur.at;
  if (o.totalMinor !== cur.totalMinor) return o.totalMinor < cur.totalMinor;
  if (o.currency !== cur.currency) return o.currency < cur.currency;
  return (o.referralCode ?? '') < (cur.referralCode ?? '');
}

/**
 * The same order sent twice under two event ids counts once: the earliest (beatsOrder) per
 * customer and orderId — independent of arrival order.
 */
export function uniqueOrders(orders: readonly OrderFact[]): OrderFact[] {
  const m = new Map<string, OrderFact>();
  for (const o of orders) {
    const k = `${o.customerId}\u0000${o.orderId}`;
    const cur = m.get(k);
    if (!cur || beatsOrder(o, cur)) m.set(k, o);
  }
  return [...m.values()];
}

// ---------------------------------------------------------------------------------------------
// Cohort retention

export interface RetentionOptions {
  readonly period: 'week' | 'month';
  /** What counts as coming back: a purchase (default) or any activity (purchase, view, review, referral, identify). */
  readonly returning: 'purchase' | 'activity';
  /** bounded: came back in period t+k exactly; unbounded: in t+k or any later period up to asOf. */
  readonly mode: 'bounded' | 'unbounded';
  /** first: cohorts of first-time buyers by the period of their first purchase; recurring: customers who bought in period t having bought before t. */
  readonly cohort: 'first' | 'recurring';
  /** Last local day included (facts after it are ignored). */
  readonly asOfDay: number;
  readonly calendar: LocalCalendar;
}

export interface RetentionCell {
  readonly k: number;
  /** null when period t+k has not ended by asOf (not yet fully observable). */
  readonly count: number | null;
  readonly rate: number | null;
}
export interface RetentionRow {
  readonly cohort: string;
  readonly size: number;
  readonly cells: RetentionCell[];
}

/** Above this many (customer × period) cells the dense path would allocate too much: use the set-based one. */
const DENSE_CELLS_MAX = 256 * 1024 * 1024;

/**
 * Cohort retention, dense implementation: customers and periods become indices into one byte
 * matrix, so a million purchases cost a few passes over arrays. Same answers as
 * cohortRetentionBySets (a property spec checks it).
 */
export function cohortRetention(facts: Facts, o: RetentionOptions): RetentionRow[] {
  const unit: PeriodUnit = o.period;
  const step = unit === 'week' ? 7 : 1;
  const lastComplete = lastCompletePeriod(o.asOfDay, unit);
  const asOfPeriod = periodOf(o.asOfDay, unit);
  const index = new Map<string, number>();
  const ids: string[] = [];
  const ordCust: number[] = [];
  const ordPer: number[] = [];
  let minP = asOfPeriod;
  for (const ord of facts.unique ? facts.orders : uniqueOrders(facts.orders)) {
    const day = o.calendar.day(ord.at);
    if (day > o.asOfDay) continue;
    const p = periodOf(day, unit);
    let i = index.get(ord.customerId);
    if (i === undefined) {
      i = ids.length;
      index.set(ord.customerId, i);
      ids.push(ord.customerId);
    }
    ordCust.push(i);
    ordPer.push(p);
    if (p < minP) minP = p;
  }
  const n = ids.length;
  if (n === 0) return [];
  const P = (asOfPeriod - minP) / step + 1;
  if (n * P > DENSE_CELLS_MAX) return cohortRetentionBySets(facts, o);
  const buy = new Uint8Array(n * P);
  for (let j = 0; j < ordCust.length; j++) buy[ordCust[j] * P + (ordPer[j] - minP) / step] = 1;
  let ret = buy;
  if (o.returning === 'activity') {
    ret = buy.slice();
    for (const a of facts.activity) {
      if (!a.customerId) continue;
      const i = index.get(a.customerId);
      if (i === undefined) continue;
      const day = o.calendar.day(a.at);
      if (day > o.asOfDay) continue;
      const p = periodOf(day, unit);
      if (p >= minP) ret[i * P + (p - minP) / step] = 1;
    }
  }
  // Per customer: first purchase slot and last returning slot; cohort members per slot.
  const lastRet = new Int32Array(n).fill(-1);
  const members: number[][] = Array.from({ length: P }, () => []);
  for (let i = 0; i < n; i++) {
    const row = i * P;
    let first = -1;
    for (let t = 0; t < P; t++) {
      if (ret[row + t]) lastRet[i] = t;
      if (!buy[row + t]) continue;
      if (first === -1) {
        first = t;
        if (o.cohort === 'first') members[t].push(i);
      } else if (o.cohort === 'recurring') members[t].push(i);
    }
  }
  const lastCompleteSlot = (lastComplete - minP) / step;
  const rows: RetentionRow[] = [];
  for (let c = 0; c < P; c++) {
    const m = members[c];
    if (m.length === 0) continue;
    const cells: RetentionCell[] = [];
    for (let k = 0; c + k < P; k++) {
      const target = c + k;
      if (target > lastCompleteSlot) {
        cells.push({ k, count: null, rate: null });
        continue;
      }
      let count = 0;
      if (o.mode === 'bounded') {
        for (const i of m) count += ret[i * P + target];
      } else {
        for (const i of m) if (lastRet[i] >= target) count++;
      }
      cells.push({ k, count, rate: count / m.length });
    }
    rows.push({ cohort: periodLabel(minP + c * step, unit), size: m.length, cells });
  }
  return rows;
}

/** Cohort retention with a set of periods per customer: the reference definition (and the fallback for huge ranges). */
export function cohortRetentionBySets(facts: Facts, o: RetentionOptions): RetentionRow[] {
  const unit: PeriodUnit = o.period;
  const lastComplete = lastCompletePeriod(o.asOfDay, unit);
  const purchases = new Map<string, Set<number>>(); // customer → purchase periods
  // customer → periods with a returning event (the purchase periods themselves when returning = purchase)
  const returns = o.returning === 'purchase' ? purchases : new Map<string, Set<number>>();
  const add = (m: Map<string, Set<number>>, id: string, p: number) => {
    let s = m.get(id);
    if (!s) m.set(id, (s = new Set()));
    s.add(p);
  };
  for (const ord of facts.unique ? facts.orders : uniqueOrders(facts.orders)) {
    const day = o.calendar.day(ord.at);
    if (day > o.asOfDay) continue;
    const p = periodOf(day, unit);
    add(purchases, ord.customerId, p);
    if (returns !== purchases) add(returns, ord.customerId, p);
  }
  if (o.returning === 'activity') {
    for (const a of facts.activity) {
      if (!a.customerId) continue;
      const day = o.calendar.day(a.at);
      if (day <= o.asOfDay) add(returns, a.customerId, periodOf(day, unit));
    }
  }
  const members = new Map<number, string[]>(); // cohort period → customers
  for (const [id, periods] of purchases) {
    const sorted = [...periods].sort((a, b) => a - b);
    const cohorts = o.cohort === 'first' ? [sorted[0]] : sorted.slice(1);
    for (const c of cohorts) {
      let list = members.get(c);
      if (!list) members.set(c, (list = []));
      list.push(id);
    }
  }
  const asOfPeriod = periodOf(o.asOfDay, unit);
  const rows: RetentionRow[] = [];
  for (const c of [...members.keys()].sort((a, b) => a - b)) {
    const ids = members.get(c)!;
    const cells: RetentionCell[] = [];
    for (let k = 0; addPeriods(c, k, unit) <= asOfPeriod; k++) {
      const target = addPeriods(c, k, unit);
      if (target > lastComplete) {
        cells.push({ k, count: null, rate: null });
        continue;
      }
      let count = 0;
      for (const id of ids) {
        const s = returns.get(id)!;
        if (o.mode === 'bounded') {
          if (s.has(target)) count++;
        } else {
          for (const p of s)
            if (p >= target) {
              count++;
              break;
            }
        }
      }
      cells.push({ k, count, rate: count / ids.length });
    }
    rows.push({ cohort: periodLabel(c, unit), size: ids.length, cells });
  }
  return rows;
}

/** The last period whose final day is ≤ asOfDay. */
function lastCompletePeriod(asOfDay: number, unit: PeriodUnit): number {
  const p = periodOf(asOfDay, unit);
  const nextStart = periodStartDay(addPeriods(p, 1, unit), unit);
  return asOfDay === nextStart - 1 ? p : addPeriods(p, -1, unit);
}

// ---------------------------------------------------------------------------------------------
// KPIs over a window of local days [fromDay, toDay]

export interface KpiOptions {
  readonly fromDay: number;
  readonly toDay: number;
  readonly calendar: LocalCalendar;
  /** Money metrics sum orders in this currency only. */
  readonly currency: string;
  /** Lifecycle periods. */
  readonly period: PeriodUnit;
}

export interface LifecycleRow {
  readonly period: string;
  readonly active: number;
  readonly new: number;
  readonly returning: number;
  readonly resurrecting: number;
  readonly dormant: number;
  /** dormant / active of the previous period; null when that period had no active customers. */
  readonly churnRate: number | null;
}

export interface Kpis {
  readonly customers: number;
  readonly newCustomers: number;
  readonly orders: number;
  readonly grossMinor: number;
  readonly refundedMinor: number;
  readonly netMinor: number;
  readonly repeatPurchaseRate: number | null;
  readonly purchaseFrequency: number | null;
  readonly aovMinor: number | null;
  readonly medianDaysBetweenPurchases: number | null;
  readonly returnRateByOrders: number | null;
  readonly returnRateByValue: number | null;
  readonly viewers: number;
  readonly conversionRate: number | null;
  readonly referral: { invites: number; activeCustomers: number; invitesPerActive: number | null; conversions: number; conversionShare: number | null; kFactor: number | null; viralCycleDays: number | null };
  readonly reviews: { count: number; distribution: Record<'1' | '2' | '3' | '4' | '5', number>; average: number | null };
  readonly historicClv: { customers: number; netMinor: number; averageNetMinor: number | null };
  readonly lifecycle: LifecycleRow[];
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = Float64Array.from(values).sort();
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);

export function computeKpis(facts: Facts, o: KpiOptions): Kpis {
  const cal = o.calendar;
  const inWindow = (day: number) => day >= o.fromDay && day <= o.toDay;
  const all = facts.unique ? facts.orders : uniqueOrders(facts.orders);
  // Orders up to the window's end with their local day (no per-order copies, no global sort).
  const orders: OrderFact[] = [];
  const dayList: number[] = [];
  for (const x of all) {
    const d = cal.day(x.at);
    if (d > o.toDay) continue;
    orders.push(x);
    dayList.push(d);
  }
  const days = Int32Array.from(dayList);
  // Customers become dense indices once; everything per customer is then a typed array.
  const index = new Map<string, number>();
  const ids: string[] = [];
  const cust = new Int32Array(orders.length);
  for (let i = 0; i < orders.length; i++) {
    let c = index.get(orders[i].customerId);
    if (c === undefined) {
      c = ids.length;
      index.set(orders[i].customerId, c);
      ids.push(orders[i].customerId);
    }
    cust[i] = c;
  }
  const n = ids.length;
  const firstDay = new Int32Array(n).fill(2 ** 31 - 1);
  const firstOrder = new Int32Array(n).fill(-1); // index of the first order (by at, then orderId)
  const perCustomer = new Int32Array(n);
  const window: number[] = [];
  for (let i = 0; i < orders.length; i++) {
    const c = cust[i];
    const d = days[i];
    if (d < firstDay[c]) firstDay[c] = d;
    const fo = firstOrder[c];
    if (fo === -1 || orders[i].at < orders[fo].at || (orders[i].at === orders[fo].at && orders[i].orderId < orders[fo].orderId)) firstOrder[c] = i;
    if (inWindow(d)) {
      window.push(i);
      perCustomer[c]++;
    }
  }
  let customers = 0;
  let newCustomers = 0;
  let repeaters = 0;
  for (let c = 0; c < n; c++) {
    if (perCustomer[c] === 0) continue;
    customers++;
    if (inWindow(firstDay[c])) newCustomers++;
    if (perCustomer[c] >= 2) repeaters++;
  }
  let baseOrders = 0;
  let gross = 0;
  for (const i of window) {
    if (orders[i].currency !== o.currency) continue;
    baseOrders++;
    gross += orders[i].totalMinor;
  }

  // Returns up to the window's end, on orders placed in the window.
  // customer → order → refunded (no per-order key strings: most orders have no return).
  const refundMap = new Map<string, Map<string, number>>();
  for (const r of facts.returns) {
    if (cal.day(r.at) > o.toDay) continue;
    let m = refundMap.get(r.customerId);
    if (!m) refundMap.set(r.customerId, (m = new Map()));
    m.set(r.orderId, (m.get(r.orderId) ?? 0) + r.refundMinor);
  }
  let returnedOrders = 0;
  let refunded = 0;
  for (const i of window) {
    const x = orders[i];
    const r = refundMap.get(x.customerId)?.get(x.orderId);
    if (r === undefined) continue;
    returnedOrders++;
    if (x.currency === o.currency) refunded += Math.min(r, x.totalMinor);
  }

  // Gaps between consecutive distinct purchase days, both in the window: window days grouped per customer (CSR).
  const gaps: number[] = [];
  const offsets = new Int32Array(n + 1);
  for (const i of window) offsets[cust[i] + 1]++;
  for (let c = 0; c < n; c++) offsets[c + 1] += offsets[c];
  const fill = offsets.slice(0, n);
  const byCustomer = new Int32Array(window.length);
  for (const i of window) byCustomer[fill[cust[i]]++] = days[i];
  for (let c = 0; c < n; c++) {
    const seg = byCustomer.subarray(offsets[c], offsets[c + 1]);
    if (seg.length < 2) continue;
    seg.sort();
    for (let j = 1; j < seg.length; j++) if (seg[j] !== seg[j - 1]) gaps.push(seg[j] - seg[j - 1]);
  }

  // Conversion: distinct viewers in the window (anonymous viewers linked by identify count as their customer).
  const link = new Map<string, string>();
  for (const a of facts.activity) if (a.kind === 'identify' && a.anonymousId && a.customerId && cal.day(a.at) <= o.toDay) link.set(a.anonymousId, a.customerId);
  const viewers = new Set<string>();
  for (const a of facts.activity) {
    if (a.kind !== 'view' || !inWindow(cal.day(a.at))) continue;
    const person = a.customerId ?? (a.anonymousId ? link.get(a.anonymousId) : undefined);
    viewers.add(person !== undefined ? `c:${person}` : `a:${a.anonymousId}`);
  }
  let converted = 0;
  for (const v of viewers) {
    const c = v.startsWith('c:') ? index.get(v.slice(2)) : undefined;
    if (c !== undefined && perCustomer[c] > 0) converted++;
  }

  // Referral K-factor.
  const invites = facts.activity.filter((a) => a.kind === 'referral' && a.customerId && inWindow(cal.day(a.at)));
  const byCode = new Map<string, (typeof invites)[number][]>();
  for (const i of invites) {
    const list = byCode.get(i.referralCode ?? '') ?? [];
    list.push(i);
    byCode.set(i.referralCode ?? '', list);
  }
  const used = new Set<(typeof invites)[number]>();
  const cycle: number[] = [];
  for (let c = 0; c < n; c++) {
    const customerId = ids[c];
    const first = orders[firstOrder[c]];
    const candidates = [...(byCode.get(first.referralCode ?? '\u0000') ?? []), ...invites.filter((i) => i.refereeId === customerId)];
    const invite = candidates
      .filter((i) => !used.has(i) && i.customerId !== customerId && i.at <= first.at && (!i.refereeId || i.refereeId === customerId))
      .sort((a, b) => a.at - b.at)[0];
    if (!invite) continue;
    // Screened: a paid order, not (fully) refunded.
    const refund = refundMap.get(customerId)?.get(first.orderId) ?? 0;
    if (first.totalMinor <= 0 || refund >= first.totalMinor) continue;
    used.add(invite);
    cycle.push((first.at - invite.at) / 86_400_000);
  }
  const invitesPerActive = ratio(invites.length, customers);
  const conversionShare = ratio(used.size, invites.length);

  const dist = { '1': 0, '2': 0, '3': 0, '4': 0, '5': 0 };
  let ratingSum = 0;
  let reviewCount = 0;
  for (const a of facts.activity) {
    if (a.kind !== 'review' || !inWindow(cal.day(a.at)) || !a.rating) continue;
    const key = String(a.rating) as keyof typeof dist;
    if (!(key in dist)) continue;
    dist[key]++;
    ratingSum += a.rating;
    reviewCount++;
  }

  // Historic CLV to the window's end: net revenue (orders − refunds) of every customer so far.
  let clvNet = 0;
  for (const x of orders) {
    if (x.currency !== o.currency) continue;
    clvNet += x.totalMinor - Math.min(refundMap.get(x.customerId)?.get(x.orderId) ?? 0, x.totalMinor);
  }

  return {
    customers,
    newCustomers,
    orders: window.length,
    grossMinor: gross,
    refundedMinor: refunded,
    netMinor: gross - refunded,
    repeatPurchaseRate: ratio(repeaters, customers),
    purchaseFrequency: ratio(window.length, customers),
    aovMinor: baseOrders === 0 ? null : Math.round(gross / baseOrders),
    medianDaysBetweenPurchases: median(gaps),
    returnRateByOrders: ratio(returnedOrders, window.length),
    returnRateByValue: ratio(refunded, gross),
    viewers: viewers.size,
    conversionRate: ratio(converted, viewers.size),
    referral: {
      invites: invites.length,
      activeCustomers: customers,
      invitesPerActive,
      conversions: used.size,
      conversionShare,
      kFactor: invitesPerActive === null || conversionShare === null ? null : invitesPerActive * conversionShare,
      viralCycleDays: median(cycle),
    },
    reviews: { count: reviewCount, distribution: dist, average: reviewCount === 0 ? null : ratingSum / reviewCount },
    historicClv: { customers: n, netMinor: clvNet, averageNetMinor: n === 0 ? null : clvNet / n },
    lifecycle: lifecycle(cust, n, days, firstDay, o),
  };
}

/**
 * Per period p overlapping the window: active = purchasers in p; new = first purchase ever in p;
 * returning = active in p and p−1 (not new); resurrecting = active in p, not in p−1, but before;
 * dormant = active in p−1, not in p. churnRate = dormant / active(p−1).
 */
function lifecycle(cust: Int32Array, n: number, days: Int32Array, firstDay: Int32Array, o: KpiOptions): LifecycleRow[] {
  const unit = o.period;
  const step = unit === 'week' ? 7 : 1;
  const from = addPeriods(periodOf(o.fromDay, unit), -1, unit); // the period before the window, for p − 1
  const last = periodOf(o.toDay, unit);
  const P = (last - from) / step + 1;
  // active[c × P + slot]: customer c ordered in period from + slot (only periods from p − 1 on matter).
  const active = new Uint8Array(n * P);
  for (let i = 0; i < cust.length; i++) {
    const p = periodOf(days[i], unit);
    if (p >= from) active[cust[i] * P + (p - from) / step] = 1;
  }
  const firstSlot = new Int32Array(n);
  for (let c = 0; c < n; c++) firstSlot[c] = (periodOf(firstDay[c], unit) - from) / step; // < 0: before the window
  const rows: LifecycleRow[] = [];
  for (let t = 1; t < P; t++) {
    let act = 0;
    let fresh = 0;
    let returning = 0;
    let resurrecting = 0;
    let dormant = 0;
    let activePrev = 0;
    for (let c = 0; c < n; c++) {
      const now = active[c * P + t];
      const before = active[c * P + t - 1];
      if (before) activePrev++;
      if (now) {
        act++;
        if (firstSlot[c] === t) fresh++;
        else if (before) returning++;
        else resurrecting++;
      } else if (before) dormant++;
    }
    rows.push({ period: periodLabel(from + t * step, unit), active: act, new: fresh, returning, resurrecting, dormant, churnRate: ratio(dormant, activePrev) });
  }
  return rows;
}
