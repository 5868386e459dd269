/**
 * RFM scoring, pure: recency, frequency and monetary value as of a date over a window, scored in
 * quintiles (1–5, 5 best: R5 = most recent) over the customers with at least one order in the
 * window, and named by the standard R×F segment map.
 *
 * Ranking: customers are sorted by the metric (worst first), ties broken by customer id, and a
 * customer's score is 1 + floor(5 × rank / n) where rank is the position of the FIRST customer
 * with the same value: equal values always get equal scores (no arbitrary split of a tie), and the
 * result does not depend on input order. Tiny populations follow the same formula (one customer
 * scores 1; two score 1 and 3).
 */
import type { Profile } from '../profile';

export const RFM_SEGMENTS = [
  'champions',
  'loyal_customers',
  'potential_loyalists',
  'new_customers',
  'promising',
  'need_attention',
  'about_to_sleep',
  'at_risk',
  'cant_lose_them',
  'hibernating',
] as const;
export type RfmSegment = (typeof RFM_SEGMENTS)[number];

export const RFM_SEGMENT_LABELS: Readonly<Record<RfmSegment, string>> = {
  champions: 'Champions',
  loyal_customers: 'Loyal customers',
  potential_loyalists: 'Potential loyalists',
  new_customers: 'New customers',
  promising: 'Promising',
  need_attention: 'Need attention',
  about_to_sleep: 'About to sleep',
  at_risk: 'At risk',
  cant_lose_them: "Can't lose them",
  hibernating: 'Hibernating',
};

/** The standard R×F map. Total: every (R, F) in 1–5 × 1–5 has exactly one segment. */
export function rfmSegment(r: number, f: number): RfmSegment {
  if (r === 5) return f >= 4 ? 'champions' : f >= 2 ? 'potential_loyalists' : 'new_customers';
  if (r === 4) return f >= 4 ? 'loyal_customers' : f >= 2 ? 'potential_loyalists' : 'promising';
  if (r === 3) return f >= 4 ? 'loyal_customers' : f === 3 ? 'need_attention' : 'about_to_sleep';
  return f === 5 ? 'cant_lose_them' : f >= 3 ? 'at_risk' : 'hibernating';
}

/** What RFM needs of one customer in the window. */
export interface RfmCustomerInput {
  readonly customerId: string;
  /** UTC ISO instant of the last order in the window. */
  readonly lastOrderAt: string;
  readonly orders: number;
  /** Net revenue of the window's orders (base currency, after their returns), minor units. */
  readonly netMinor: number;
}

export interface RfmScore extends RfmCustomerInput {
  readonly recencyDays: number;
  readonly r: number;
  readonly f: number;
  readonly m: number;
  readonly segment: RfmSegment;
}

export interface RfmOptions {
  readonly asOf: Date;
  readonly windowDays: number;
}

export const DEFAULT_RFM_WINDOW_DAYS = 365;
const DAY_MS = 86_400_000;

/**
 * The customer's RFM input from their profile, or null without a base-currency order in
 * (asOf − window, asOf]. Returns are netted against their order as of `asOf`: the profile keeps
 * refunds per order, not per date, so `refundsAfter` (refunds by orderId of the returns that
 * occurred after `asOf`) is added back — a return after the instant does not change the answer.
 */
export function rfmInputOf(p: Profile, opts: RfmOptions, refundsAfter: ReadonlyMap<string, number> = new Map()): RfmCustomerInput | null {
  const end = opts.asOf.getTime();
  const start = end - opts.windowDays * DAY_MS;
  let orders = 0;
  let net = 0;
  let last: string | null = null;
  for (const o of Object.values(p.state.orders)) {
    if (o.currency !== p.currency) continue;
    const t = Date.parse(o.occurredAt);
    if (t <= start || t > end) continue;
    orders += 1;
    net += o.totalMinor - ((p.state.orderRefunds?.[o.orderId] ?? 0) - (refundsAfter.get(o.orderId) ?? 0));
    if (last === null || o.occurredAt > last) last = o.occurredAt;
  }
  return last === null ? null : { customerId: p.customerId, lastOrderAt: last, orders, netMinor: net };
}

function quintiles<T extends RfmCustomerInput>(items: readonly T[], value: (x: T) => number): Map<string, number> {
  const sorted = [...items].sort((a, b) => value(a) - value(b) || (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : 0));
  const out = new Map<string, number>();
  const n = sorted.length;
  let firstRank = 0;
  for (let i = 0; i < n; i++) {
    if (i > 0 && value(sorted[i]!) !== value(sorted[i - 1]!)) firstRank = i;
    out.set(sorted[i]!.customerId, 1 + Math.floor((5 * firstRank) / n));
  }
  return out;
}

/** Scores every input; output sorted by customer id. */
export function scoreRfm(inputs: readonly RfmCustomerInput[], opts: RfmOptions): RfmScore[] {
  const asOf = opts.asOf.getTime();
  const r = quintiles(inputs, (x) => Date.parse(x.lastOrderAt));
  const f = quintiles(inputs, (x) => x.orders);
  const m = quintiles(inputs, (x) => x.netMinor);
  return [...inputs]
    .sort((a, b) => (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : 0))
    .map((x) => {
      const rs = r.get(x.customerId)!;
      const fs = f.get(x.customerId)!;
      return {
        ...x,
        recencyDays: Math.floor((asOf - Date.parse(x.lastOrderAt)) / DAY_MS),
        r: rs,
        f: fs,
        m: m.get(x.customerId)!,
        segment: rfmSegment(rs, fs),
      };
    });
}

/** The local calendar date (YYYY-MM-DD) of an instant in an IANA timezone: the daily schedule's key. */
export function localDate(at: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}
