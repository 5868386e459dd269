/**
 * The loyalty ledger: a PURE function of a customer's facts (and the facts of customers linked by
 * referrals), the program versions and an as-of instant.
 *
 * Facts are replayed in business-time order, (occurredAt, priority, id), so arrival order never
 * matters. Time passing — pending → available, expiry, tier review — is scheduled from the facts
 * and applied up to `asOf`: the ledger is right for any as-of instant without new events.
 * Late facts (arriving more than LATE_MS after their business time) and back-dated program versions
 * are listed as corrections: what changed at arrival, against the ledger known just before.
 */
import type { LoyaltyFact, PurchaseFact, ReferralFact, ReturnFact } from './facts';
import type { LoyaltyProgram, ProgramVersion } from './program';

export const DAY_MS = 86_400_000;
/** A fact is late when it arrives more than this after its business time. */
export const LATE_MS = 3_600_000;
/** At most this many (latest) arrival instants get a correction entry (each costs two replays). */
export const MAX_CORRECTIONS = 50;

export type MovementType = 'earned' | 'available' | 'expired' | 'taken-back' | 'redeemed' | 'adjusted' | 'written-off';

export interface Movement {
  readonly at: string;
  readonly type: MovementType;
  /** Signed change of each balance; `written-off` changes neither (points a return could not take back). */
  readonly pending: number;
  readonly available: number;
  /** The causing event id, or null for time passing with no single cause. */
  readonly cause: string | null;
  readonly ruleVersion: number | null;
  readonly note: string;
}

export interface TierChange {
  readonly at: string;
  readonly from: string | null;
  readonly to: string;
  readonly qualifying: number;
  readonly reason: string;
}

export interface Withheld {
  readonly at: string;
  readonly cause: string;
  readonly reason: string;
  readonly ruleVersion: number | null;
}

export interface Contribution {
  readonly cause: string;
  /** Business date the amount counts at (a refund counts at its order's date). */
  readonly date: string;
  readonly points: number;
  readonly spendMinor: number;
  readonly note: string;
}

export interface Correction {
  /** Arrival time of the late fact / program version. */
  readonly at: string;
  /** The (first) late fact or program version that arrived then. */
  readonly cause: string;
  /** Every late fact / program version that arrived at that instant. */
  readonly causes: readonly string[];
  readonly kind: string;
  readonly pending: number;
  readonly available: number;
  readonly lifetimeEarned: number;
  readonly tier: { readonly from: string | null; readonly to: string | null } | null;
}

export interface TierStatus {
  readonly name: string;
  readonly level: number;
  readonly since: string;
  /** Null: kept indefinitely (policy `never`, or the base tier). */
  readonly keptUntil: string | null;
  readonly basis: 'points' | 'spend';
  readonly qualifying: number;
  readonly next: { readonly name: string; readonly threshold: number; readonly remaining: number } | null;
  /** The contributions inside the qualification window at as-of. */
  readonly contributions: readonly Contribution[];
}

export interface Ledger {
  readonly customerId: string;
  readonly asOf: string;
  readonly programVersion: number | null;
  readonly balance: { readonly pending: number; readonly available: number };
  readonly lifetimeEarned: number;
  readonly redeemed: number;
  readonly expired: number;
  readonly takenBack: number;
  /** Net of manual adjustments (signed). */
  readonly adjusted: number;
  readonly writtenOff: number;
  readonly tier: TierStatus | null;
  readonly movements: readonly Movement[];
  readonly tierHistory: readonly TierChange[];
  readonly withheld: readonly Withheld[];
  /** Facts that earned nothing, with why (no program yet, other currency, unknown order…). */
  readonly ignored: readonly Withheld[];
  readonly corrections: readonly Correction[];
}

const ms = (iso: string): number => Date.parse(iso);
const iso = (t: number): string => new Date(t).toISOString();

function cmpFact(a: { occurredAt: string; id: string }, b: { occurredAt: string; id: string }): number {
  return a.occurredAt < b.occurredAt ? -1 : a.occurredAt > b.occurredAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** n / d rounded as the program says, in exact integer arithmetic. */
function divide(n: bigint, d: bigint, rounding: LoyaltyProgram['earn']['rounding']): number {
  if (d === 0n) return 0;
  const q = n / d;
  const r = n % d;
  if (r === 0n) return Number(q);
  switch (rounding) {
    case 'floor':
      return Number(q);
    case 'ceil':
      return Number(q + 1n);
    case 'half-up':
      return Number(2n * r >= d ? q + 1n : q);
  }
}
const h = (x: number): bigint => BigInt(Math.round(x * 100));

/** Points for a purchase: net spend (items − discount) × category × tier multipliers × rate. */
export function purchasePoints(p: PurchaseFact, program: LoyaltyProgram, tierMultiplier: number): { points: number; netSpendMinor: number } {
  const subtotal = p.items.reduce((s, i) => s + i.amountMinor, 0);
  const net = Math.max(0, subtotal - p.discountMinor);
  if (subtotal <= 0 || net === 0) return { points: 0, netSpendMinor: net };
  let weighted = 0n; // Σ amount × categoryMultiplier (hundredths)
  const multipliers = program.earn.categoryMultipliers;
  // Own keys only: a category named `constructor` or `toString` is not a multiplier.
  const multiplier = (category: string | undefined): number => (category !== undefined && Object.prototype.hasOwnProperty.call(multipliers, category) ? multipliers[category]! : 1);
  for (const i of p.items) weighted += BigInt(i.amountMinor) * h(multiplier(i.category));
  const n = weighted * BigInt(net) * h(tierMultiplier) * h(program.earn.pointsPerUnit);
  const d = BigInt(subtotal) * BigInt(program.earn.unitMinor) * 1_000_000n;
  return { points: divide(n, d, program.earn.rounding), netSpendMinor: net };
}

// ---------------------------------------------------------------------------------------------
// Referrals

export interface ReferralOutcome {
  readonly role: 'referrer' | 'friend';
  readonly referrerId: string;
  readonly friendId: string;
  /** The referral fact (named referral, or the code owner's referral). */
  readonly referralId: string;
  /** The friend's first order. */
  readonly orderEventId: string;
  /** When the reward is due: the first order + the return window. */
  readonly at: number;
  readonly withheld: string | null;
}

type ProgramAt = (t: number) => ProgramVersion | null;

/** Every referral reward (or withheld reward) that concerns `customerId`, as referrer or friend. */
export function referralOutcomes(customerId: string, facts: readonly LoyaltyFact[], programAt: ProgramAt): ReferralOutcome[] {
  const referrals = facts.filter((f): f is ReferralFact => f.kind === 'referral').sort(cmpFact);
  const codeOwner = new Map<string, ReferralFact>();
  for (const r of referrals) if (!codeOwner.has(r.referralCode)) codeOwner.set(r.referralCode, r);
  const purchasesBy = new Map<string, PurchaseFact[]>();
  for (const f of facts) if (f.kind === 'purchase') (purchasesBy.get(f.customerId) ?? purchasesBy.set(f.customerId, []).get(f.customerId)!).push(f);
  for (const list of purchasesBy.values()) list.sort(cmpFact);
  const refunds = facts.filter((f): f is ReturnFact => f.kind === 'return');

  // Friends to look at: the customer itself, and everyone this customer referred.
  const friends = new Set<string>([customerId]);
  for (const r of referrals) if (r.customerId === customerId && r.refereeId !== undefined) friends.add(r.refereeId);
  for (const [buyer, list] of purchasesBy) for (const p of list) if (p.referralCode !== undefined && codeOwner.get(p.referralCode)?.customerId === customerId) friends.add(buyer);

  const raw: ReferralOutcome[] = [];
  for (const friendId of [...friends].sort()) {
    const orders = purchasesBy.get(friendId) ?? [];
    const first = orders[0];
    if (first === undefined) continue;
    let referral: ReferralFact | undefined;
    let referredAt: number;
    let withheld: string | null = null;
    const byCode = first.referralCode !== undefined ? codeOwner.get(first.referralCode) : undefined;
    if (byCode !== undefined) {
      referral = byCode;
      referredAt = ms(first.occurredAt);
    } else {
      referral = referrals.find((r) => r.refereeId === friendId);
      if (referral === undefined) {
        // A code used on a later order: the friend was already a customer.
        const later = orders.find((o) => o.referralCode !== undefined && codeOwner.has(o.referralCode));
        if (later === undefined) continue;
        referral = codeOwner.get(later.referralCode!)!;
        referredAt = ms(later.occurredAt);
        withheld = 'friend was already a customer before the referral';
      } else {
        referredAt = ms(referral.occurredAt);
        if (ms(first.occurredAt) < referredAt) withheld = 'friend was already a customer before the referral';
      }
    }
    const referrerId = referral.customerId;
    if (referrerId !== customerId && friendId !== customerId) continue;
    if (referrerId === friendId) withheld = 'self-referral';
    const program = programAt(ms(first.occurredAt));
    const at = ms(first.occurredAt) + (program?.program.pendingDays ?? 0) * DAY_MS;
    if (withheld === null) {
      const refunded = refunds
        .filter((r) => r.customerId === friendId && r.orderId === first.orderId && ms(r.occurredAt) <= at)
        .reduce((s, r) => s + r.refundMinor, 0);
      if (first.totalMinor > 0 && refunded >= first.totalMinor) withheld = 'friend’s first order was returned within the return window';
    }
    const base = { referrerId, friendId, referralId: referral.id, orderEventId: first.id, at, withheld };
    if (referrerId === customerId) raw.push({ ...base, role: 'referrer', referredAt } as ReferralOutcome & { referredAt: number });
    if (friendId === customerId && referrerId !== friendId) raw.push({ ...base, role: 'friend' });
  }

  // Weekly cap for the referrer: the (N+1)-th accepted referral within 7 days is withheld.
  const mine = (raw as (ReferralOutcome & { referredAt?: number })[])
    .filter((o) => o.role === 'referrer' && o.withheld === null)
    .sort((a, b) => a.referredAt! - b.referredAt! || (a.friendId < b.friendId ? -1 : 1));
  const capped = new Set<ReferralOutcome>();
  mine.forEach((o, i) => {
    const max = programAt(o.at)?.program.earn.referral?.maxPerWeek ?? Infinity;
    let count = 0;
    for (let j = 0; j <= i; j++) if (!capped.has(mine[j]) && mine[j].referredAt! > o.referredAt! - 7 * DAY_MS) count += 1;
    if (count > max) capped.add(o);
  });
  return raw.map((o) => {
    const { referredAt: _r, ...rest } = o as ReferralOutcome & { referredAt?: number };
    if (!capped.has(o)) return rest;
    const max = programAt(o.at)?.program.earn.referral?.maxPerWeek;
    return { ...rest, withheld: `more than ${max} referrals from this referrer within 7 days` };
  });
}

// ---------------------------------------------------------------------------------------------
// The replay

interface Lot {
  readonly id: string;
  /** The event id movements of this lot name as their cause. */
  readonly cause: string;
  readonly earnedAt: number;
  readonly availableAt: number;
  expiresAt: number | null;
  remaining: number;
  state: 'pending' | 'available' | 'closed';
  readonly ruleVersion: number;
}
interface Order {
  readonly lot: Lot;
  readonly fact: PurchaseFact;
  readonly points: number;
  readonly netSpend: number;
  refunded: number;
  taken: number;
  spendTaken: number;
}
interface Contrib {
  readonly cause: string;
  readonly date: number;
  readonly effectiveAt: number;
  readonly points: number;
  readonly spend: number;
  readonly note: string;
}

type Action =
  | { t: number; prio: number; id: string; kind: 'fact'; fact: LoyaltyFact }
  | { t: number; prio: number; id: string; kind: 'reward'; outcome: ReferralOutcome };

const PRIORITY: Record<LoyaltyFact['kind'], number> = { purchase: 0, review: 1, referral: 2, return: 3, adjustment: 4, redemption: 5 };

function makeProgramAt(programs: readonly ProgramVersion[]): ProgramAt {
  const sorted = [...programs].sort((a, b) => ms(a.effectiveFrom) - ms(b.effectiveFrom) || a.version - b.version);
  return (t) => {
    let found: ProgramVersion | null = null;
    for (const p of sorted) if (ms(p.effectiveFrom) <= t) found = p;
    return found;
  };
}

function yearOf(t: number): number {
  return new Date(t).getUTCFullYear();
}

/** One replay of the known facts up to `asOf` (no corrections). */
function replay(customerId: string, facts: readonly LoyaltyFact[], programs: readonly ProgramVersion[], asOf: number): Omit<Ledger, 'corrections'> {
  const programAt = makeProgramAt(programs);
  const movements: Movement[] = [];
  const withheld: Withheld[] = [];
  const ignored: Withheld[] = [];
  const tierHistory: TierChange[] = [];
  const lots: Lot[] = [];
  const orders = new Map<string, Order>();
  const contributions: Contrib[] = [];
  const reviewed = new Set<string>();
  const purchasedProducts = new Set<string>();
  let debt = 0;
  let lifetimeEarned = 0, redeemed = 0, expired = 0, takenBack = 0, writtenOff = 0, adjusted = 0;
  /** Referrals that earned this customer the referrer bonus, for the every-N milestone. */
  let rewardedReferrals = 0;
  let lastActivity: number | null = null;
  let inactivityDone = false;
  let tier = -1;
  let tierSince = 0;
  let keptUntil: number | null = null;
  let now = -Infinity;

  const move = (t: number, type: MovementType, pending: number, available: number, cause: string | null, ruleVersion: number | null, note: string) =>
    movements.push({ at: iso(t), type, pending, available, cause, ruleVersion, note });

  // Facts of this customer drive the replay; other customers' facts only feed referral outcomes.
  const own = facts.filter((f) => f.customerId === customerId && f.kind !== 'referral');
  const actions: Action[] = [];
  const seenOrders = new Set<string>();
  for (const f of [...own].sort(cmpFact)) {
    if (f.kind === 'purchase') {
      if (seenOrders.has(f.orderId)) {
        ignored.push({ at: f.occurredAt, cause: f.id, reason: `order ${f.orderId} was already recorded by an earlier event`, ruleVersion: null });
        continue;
      }
      seenOrders.add(f.orderId);
    }
    actions.push({ t: ms(f.occurredAt), prio: PRIORITY[f.kind], id: f.id, kind: 'fact', fact: f });
  }
  for (const o of referralOutcomes(customerId, facts, programAt)) {
    if (o.at > asOf) continue;
    if (o.withheld !== null) {
      withheld.push({ at: iso(o.at), cause: o.role === 'referrer' ? o.referralId : o.orderEventId, reason: `${o.role} referral reward: ${o.withheld}`, ruleVersion: programAt(o.at)?.version ?? null });
    } else actions.push({ t: o.at, prio: 2, id: `${o.referralId}/${o.friendId}/${o.role}`, kind: 'reward', outcome: o });
  }
  actions.sort((a, b) => a.t - b.t || a.prio - b.prio || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  // --- tiers
  // Contributions by date with prefix sums: every contribution is dated and effective no later than
  // the replay's current instant, so the window sum is a suffix sum found by binary search.
  const byDate: number[] = [];
  const prefix = { points: [0], spend: [0] };
  const firstAfter = (x: number): number => {
    let lo = 0;
    let hi = byDate.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (byDate[mid] <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const contribute = (c: Contrib) => {
    contributions.push(c);
    const at = firstAfter(c.date);
    byDate.splice(at, 0, c.date);
    for (const basis of ['points', 'spend'] as const) {
      const pre = prefix[basis];
      pre.splice(at + 1, 0, pre[at] + c[basis]);
      for (let i = at + 2; i < pre.length; i++) pre[i] += c[basis];
    }
  };
  const windowStart = (t: number, p: LoyaltyProgram): number =>
    p.tiers.window.kind === 'rolling' ? t - p.tiers.window.days * DAY_MS : Date.UTC(yearOf(t), 0, 1) - 1;
  const qualifying = (t: number, p: LoyaltyProgram): number => {
    const pre = prefix[p.tiers.basis];
    return pre[byDate.length] - pre[firstAfter(windowStart(t, p))];
  };
  const achieved = (q: number, p: LoyaltyProgram): number => {
    let a = 0;
    p.tiers.levels.forEach((l, i) => {
      if (q >= l.threshold) a = i;
    });
    return a;
  };
  const periodEnd = (t: number, p: LoyaltyProgram): number =>
    p.tiers.window.kind === 'rolling' ? t + p.tiers.window.days * DAY_MS : Date.UTC(yearOf(t) + 2, 0, 1);
  const evaluateTier = (t: number, reason: string, qualifyingEvent = true) => {
    const pv = programAt(t);
    if (!pv) return;
    const p = pv.program;
    const levels = p.tiers.levels;
    const current = Math.min(tier, levels.length - 1);
    const q = qualifying(t, p);
    const a = achieved(q, p);
    let next = current;
    let kept = keptUntil;
    switch (p.tiers.downgrade) {
      case 'immediate':
        next = a;
        kept = null;
        break;
      case 'never':
        next = Math.max(current, a);
        kept = null;
        break;
      case 'end-of-period':
        if (current < 0 || a > current) {
          next = a;
          kept = a > 0 ? periodEnd(t, p) : null;
        } else if (keptUntil !== null && t >= keptUntil) {
          // The review at the end of the period: the tier now qualified for, for another period.
          next = a;
          kept = a > 0 ? periodEnd(t, p) : null;
        } else if (a === current && a > 0 && qualifyingEvent) {
          kept = Math.max(keptUntil ?? 0, periodEnd(t, p));
        }
        if (next === 0) kept = null;
        break;
    }
    if (next !== tier) {
      tierHistory.push({ at: iso(t), from: tier >= 0 && tier < levels.length ? levels[tier].name : null, to: levels[next].name, qualifying: q, reason });
      tier = next;
      tierSince = t;
    }
    keptUntil = kept;
  };
  const nextTierReview = (): number | null => {
    const pv = programAt(now);
    if (!pv || tier <= 0) return null;
    const p = pv.program;
    if (p.tiers.downgrade === 'end-of-period') return keptUntil;
    if (p.tiers.downgrade !== 'immediate') return null;
    const w = p.tiers.window;
    if (w.kind === 'calendar-year') return Date.UTC(yearOf(now) + 1, 0, 1);
    // The earliest contribution still inside the window leaves it first.
    const i = firstAfter(now - w.days * DAY_MS);
    return i < byDate.length ? byDate[i] + w.days * DAY_MS : null;
  };

  // --- balances
  // Lots that may hold spendable points, and lots that still have something scheduled (becoming
  // available, expiring): both kept short, so a customer with thousands of facts stays fast.
  const spendable: Lot[] = [];
  // Lot timers in a binary min-heap; an entry whose lot has moved on is skipped when it surfaces.
  type Timer = { at: number; lot: Lot; kind: 'available' | 'expire' };
  const timers: Timer[] = [];
  const timerLess = (a: Timer, b: Timer) => a.at < b.at || (a.at === b.at && a.kind === 'available' && b.kind === 'expire');
  const pushTimer = (x: Timer) => {
    timers.push(x);
    for (let i = timers.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!timerLess(timers[i], timers[parent])) break;
      [timers[i], timers[parent]] = [timers[parent], timers[i]];
      i = parent;
    }
  };
  const popTimer = (): Timer | undefined => {
    const top = timers[0];
    const last = timers.pop();
    if (timers.length > 0 && last !== undefined) {
      timers[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < timers.length && timerLess(timers[l], timers[m])) m = l;
        if (r < timers.length && timerLess(timers[r], timers[m])) m = r;
        if (m === i) break;
        [timers[i], timers[m]] = [timers[m], timers[i]];
        i = m;
      }
    }
    return top;
  };
  const live = (x: Timer) => (x.kind === 'available' ? x.lot.state === 'pending' : x.lot.state !== 'closed');
  const nextTimer = (): number | null => {
    while (timers.length > 0 && !live(timers[0])) popTimer();
    return timers.length > 0 ? timers[0].at : null;
  };
  // Spendable lots in consumption order (soonest expiry, then oldest); exhausted ones are dropped
  // from the front as consumption reaches them.
  const lotBefore = (a: Lot, b: Lot) => (a.expiresAt ?? Infinity) - (b.expiresAt ?? Infinity) || a.earnedAt - b.earnedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const addSpendable = (lot: Lot) => {
    let lo = 0;
    let hi = spendable.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (lotBefore(spendable[mid], lot) <= 0) lo = mid + 1;
      else hi = mid;
    }
    spendable.splice(lo, 0, lot);
  };
  const usable = (l: Lot) => l.state === 'available' && l.remaining > 0;
  const consume = (n: number, prefer?: Lot): number => {
    let left = n;
    const take = (l: Lot) => {
      const x = Math.min(left, l.remaining);
      l.remaining -= x;
      left -= x;
    };
    if (prefer !== undefined && usable(prefer)) take(prefer);
    for (let i = 0; left > 0 && i < spendable.length; i++) if (usable(spendable[i])) take(spendable[i]);
    let k = 0;
    while (k < spendable.length && !usable(spendable[k])) k++;
    if (k > 0) spendable.splice(0, k);
    return n - left;
  };
  const addLot = (id: string, cause: string, t: number, points: number, pv: ProgramVersion, pending: boolean): Lot => {
    const p = pv.program;
    const lot: Lot = {
      id,
      cause,
      earnedAt: t,
      availableAt: pending ? t + p.pendingDays * DAY_MS : t,
      expiresAt: p.expiry.mode === 'fixed' ? t + p.expiry.days * DAY_MS : null,
      remaining: points,
      state: 'pending',
      ruleVersion: pv.version,
    };
    lots.push(lot);
    if (pending) pushTimer({ at: lot.availableAt, lot, kind: 'available' });
    if (lot.expiresAt !== null) pushTimer({ at: lot.expiresAt, lot, kind: 'expire' });
    return lot;
  };
  const makeAvailable = (lot: Lot, t: number, note: string) => {
    const r = lot.remaining;
    lot.state = r > 0 ? 'available' : 'closed';
    if (r === 0) return;
    addSpendable(lot);
    const repay = Math.min(debt, r);
    lot.remaining -= repay;
    debt -= repay;
    move(t, 'available', -r, r, lot.cause, lot.ruleVersion, repay > 0 ? `${note}; ${repay} repay a negative balance` : note);
  };
  const activity = (t: number) => {
    lastActivity = t;
    inactivityDone = false;
  };
  const inactivityDeadline = (): number | null => {
    if (lastActivity === null || inactivityDone) return null;
    const p = programAt(lastActivity)?.program;
    if (!p || p.expiry.mode !== 'inactivity') return null;
    return lastActivity + p.expiry.days * DAY_MS;
  };
  const nextScheduled = (): number | null => {
    let best: number | null = null;
    const consider = (t: number | null) => {
      if (t !== null && (best === null || t < best)) best = t;
    };
    consider(nextTimer());
    consider(inactivityDeadline());
    const review = nextTierReview();
    consider(review !== null && review > now ? review : null);
    return best;
  };
  const runScheduled = (t: number) => {
    now = t;
    const due: Timer[] = [];
    while (nextTimer() !== null && timers[0].at <= t) due.push(popTimer()!);
    for (const x of due) if (x.kind === 'available' && live(x)) makeAvailable(x.lot, x.lot.availableAt, 'return window passed');
    for (const x of due) {
      const l = x.lot;
      if (x.kind !== 'expire' || l.state === 'closed') continue;
      const wasPending = l.state === 'pending';
      if (l.remaining > 0) {
        move(x.at, 'expired', wasPending ? -l.remaining : 0, wasPending ? 0 : -l.remaining, l.cause, l.ruleVersion, 'points expired (fixed period after earning)');
        expired += l.remaining;
      }
      l.remaining = 0;
      l.state = 'closed';
    }
    const deadline = inactivityDeadline();
    if (deadline !== null && deadline <= t) {
      inactivityDone = true;
      const total = lots.filter((l) => l.state === 'available').reduce((s, l) => s + l.remaining, 0);
      for (const l of lots) if (l.state === 'available') {
        l.remaining = 0;
        l.state = 'closed';
      }
      if (total > 0) {
        move(deadline, 'expired', 0, -total, null, programAt(lastActivity!)?.version ?? null, `points expired after inactivity since ${iso(lastActivity!)}`);
        expired += total;
      }
    }
    evaluateTier(t, 'tier review (time passing)', false);
  };

  const apply = (a: Action) => {
    now = a.t;
    const t = a.t;
    const pv = programAt(t);
    if (a.kind === 'reward') {
      const o = a.outcome;
      const r = pv?.program.earn.referral;
      if (!pv || !r) return void ignored.push({ at: iso(t), cause: o.referralId, reason: 'no referral bonus in the program in force', ruleVersion: pv?.version ?? null });
      const points = o.role === 'referrer' ? r.referrerPoints : r.friendPoints;
      if (points === 0) return;
      const lot = addLot(`${o.referralId}/${o.friendId}`, o.role === 'referrer' ? o.referralId : o.orderEventId, t, points, pv, false);
      lifetimeEarned += points;
      move(t, 'earned', points, 0, o.role === 'referrer' ? o.referralId : o.orderEventId, pv.version,
        o.role === 'referrer' ? `referral bonus: friend ${o.friendId}'s first order passed the return window` : `welcome bonus: referred by ${o.referrerId}`);
      makeAvailable(lot, t, 'referral bonus is available at once');
      contribute({ cause: o.referralId, date: t, effectiveAt: t, points, spend: 0, note: 'referral bonus' });
      if (o.role === 'referrer') {
        // Every N-th rewarded referral (counted over the referrer's history, under the program in force) adds the milestone bonus.
        rewardedReferrals += 1;
        // Programs stored before milestones existed have no `every`.
        const every = r.every ?? null;
        if (every !== null && rewardedReferrals % every.count === 0) {
          const bonus = addLot(`${o.referralId}/milestone-${rewardedReferrals}`, o.referralId, t, every.points, pv, false);
          lifetimeEarned += every.points;
          move(t, 'earned', every.points, 0, o.referralId, pv.version, `referral milestone: ${rewardedReferrals} successful referrals`);
          makeAvailable(bonus, t, 'referral milestone bonus is available at once');
          contribute({ cause: o.referralId, date: t, effectiveAt: t, points: every.points, spend: 0, note: 'referral milestone bonus' });
        }
      }
      activity(t);
      evaluateTier(t, 'referral bonus');
      return;
    }
    const f = a.fact;
    switch (f.kind) {
      case 'purchase': {
        for (const i of f.items) purchasedProducts.add(i.productId);
        if (!pv) return void ignored.push({ at: f.occurredAt, cause: f.id, reason: 'no loyalty program in force', ruleVersion: null });
        const p = pv.program;
        if (f.currency !== p.currency) return void ignored.push({ at: f.occurredAt, cause: f.id, reason: `currency ${f.currency} does not earn (program currency ${p.currency})`, ruleVersion: pv.version });
        evaluateTier(t, 'before purchase', false);
        const level = p.tiers.levels[Math.max(0, Math.min(tier, p.tiers.levels.length - 1))];
        const { points, netSpendMinor } = purchasePoints(f, p, level.multiplier);
        const lot = addLot(f.id, f.id, t, points, pv, true);
        orders.set(f.orderId, { lot, fact: f, points, netSpend: netSpendMinor, refunded: 0, taken: 0, spendTaken: 0 });
        lifetimeEarned += points;
        move(t, 'earned', points, 0, f.id, pv.version,
          `order ${f.orderId}: net spend ${netSpendMinor} × ${p.earn.pointsPerUnit}/${p.earn.unitMinor} × tier ${level.name} ×${level.multiplier} (category multipliers applied, ${p.earn.rounding})`);
        if (p.pendingDays === 0) makeAvailable(lot, t, 'no return window');
        contribute({ cause: f.id, date: t, effectiveAt: t, points, spend: netSpendMinor, note: `order ${f.orderId}` });
        activity(t);
        evaluateTier(t, `order ${f.orderId}`);
        return;
      }
      case 'return': {
        const o = orders.get(f.orderId);
        if (!o) return void ignored.push({ at: f.occurredAt, cause: f.id, reason: `return for order ${f.orderId}, which earned no points`, ruleVersion: pv?.version ?? null });
        const add = Math.max(0, Math.min(f.refundMinor, o.fact.totalMinor - o.refunded));
        o.refunded += add;
        const target = o.fact.totalMinor > 0 ? Math.min(o.points, divide(BigInt(o.points) * BigInt(o.refunded) * 2n + BigInt(o.fact.totalMinor), BigInt(o.fact.totalMinor) * 2n, 'floor')) : 0;
        const delta = target - o.taken;
        o.taken = target;
        const spendDelta = Math.min(add, o.netSpend - o.spendTaken);
        o.spendTaken += spendDelta;
        if (delta > 0 || spendDelta > 0) contribute({ cause: f.id, date: ms(o.fact.occurredAt), effectiveAt: t, points: -delta, spend: -spendDelta, note: `refund on order ${f.orderId}` });
        if (delta > 0) {
          const share = `${o.refunded}/${o.fact.totalMinor} of order ${f.orderId} refunded`;
          takenBack += delta;
          let rest = delta;
          if (o.lot.state === 'pending') {
            const x = Math.min(rest, o.lot.remaining);
            o.lot.remaining -= x;
            rest -= x;
            if (x > 0) move(t, 'taken-back', -x, 0, f.id, o.lot.ruleVersion, `${share}: taken back from pending`);
          }
          if (rest > 0) {
            const got = consume(rest, o.lot);
            const short = rest - got;
            const policy = pv?.program.returns.negativeBalance ?? 'allow';
            if (policy === 'allow') {
              debt += short;
              move(t, 'taken-back', 0, -rest, f.id, o.lot.ruleVersion, `${share}: taken back from available${short > 0 ? ` (${short} below zero)` : ''}`);
            } else {
              if (got > 0) move(t, 'taken-back', 0, -got, f.id, o.lot.ruleVersion, `${share}: taken back from available`);
              if (short > 0) {
                writtenOff += short;
                takenBack -= short;
                move(t, 'written-off', 0, 0, f.id, o.lot.ruleVersion, `${short} points could not be taken back: the balance may not go below zero`);
              }
            }
          }
        }
        evaluateTier(t, `refund on order ${f.orderId}`, false);
        return;
      }
      case 'review': {
        const r = pv?.program.earn.review;
        if (!pv || !r || r.points === 0) return void ignored.push({ at: f.occurredAt, cause: f.id, reason: 'no review bonus in the program in force', ruleVersion: pv?.version ?? null });
        if (reviewed.has(f.productId)) return void withheld.push({ at: f.occurredAt, cause: f.id, reason: `review bonus: product ${f.productId} was already rewarded`, ruleVersion: pv.version });
        if (r.requirePurchase && !purchasedProducts.has(f.productId)) return void withheld.push({ at: f.occurredAt, cause: f.id, reason: `review bonus: product ${f.productId} was not purchased before the review`, ruleVersion: pv.version });
        reviewed.add(f.productId);
        const lot = addLot(f.id, f.id, t, r.points, pv, false);
        lifetimeEarned += r.points;
        move(t, 'earned', r.points, 0, f.id, pv.version, `review of product ${f.productId}`);
        makeAvailable(lot, t, 'review bonus is available at once');
        contribute({ cause: f.id, date: t, effectiveAt: t, points: r.points, spend: 0, note: `review of ${f.productId}` });
        activity(t);
        evaluateTier(t, 'review bonus');
        return;
      }
      case 'redemption': {
        const got = consume(f.points);
        debt += f.points - got;
        redeemed += f.points;
        move(t, 'redeemed', 0, -f.points, f.id, pv?.version ?? null, f.reference !== undefined ? `redemption ${f.reference}` : 'redemption');
        activity(t);
        return;
      }
      case 'adjustment': {
        adjusted += f.points;
        if (f.points > 0 && pv) {
          const lot = addLot(f.id, f.id, t, f.points, pv, false);
          lot.state = 'available';
          addSpendable(lot);
        } else if (f.points > 0) {
          // No program yet: the points are available and never expire.
          const lot: Lot = { id: f.id, cause: f.id, earnedAt: t, availableAt: t, expiresAt: null, remaining: f.points, state: 'available', ruleVersion: 0 };
          lots.push(lot);
          addSpendable(lot);
        } else {
          const want = -f.points;
          debt += want - consume(want);
        }
        move(t, 'adjusted', 0, f.points, f.id, pv?.version ?? null, `manual adjustment: ${f.reason}`);
        return;
      }
      case 'referral':
        return;
      default: {
        const unreachable: never = f;
        throw new Error(`unknown loyalty fact ${JSON.stringify(unreachable)}`);
      }
    }
  };

  let i = 0;
  for (;;) {
    const s = nextScheduled();
    const a = i < actions.length ? actions[i] : null;
    if (s !== null && s <= asOf && (a === null || s <= a.t)) runScheduled(s);
    else if (a !== null && a.t <= asOf) {
      apply(a);
      i += 1;
    } else break;
  }
  now = asOf;
  evaluateTier(asOf, 'tier review (time passing)', false);

  const pending = lots.filter((l) => l.state === 'pending').reduce((s, l) => s + l.remaining, 0);
  const available = lots.filter((l) => l.state === 'available').reduce((s, l) => s + l.remaining, 0) - debt;
  const current = programAt(asOf);
  let tierStatus: TierStatus | null = null;
  if (current && tier >= 0) {
    const p = current.program;
    const levels = p.tiers.levels;
    const level = Math.min(tier, levels.length - 1);
    const q = qualifying(asOf, p);
    const w = p.tiers.window;
    let kept: number | null = keptUntil;
    if (level > 0 && p.tiers.downgrade === 'immediate') {
      // Walk the window forward: the first instant the qualifying amount drops below the threshold.
      if (w.kind === 'calendar-year') kept = Date.UTC(yearOf(asOf) + 1, 0, 1);
      else {
        const exits = contributions.filter((c) => c.effectiveAt <= asOf && c.date > asOf - w.days * DAY_MS && c.date <= asOf).sort((a, b) => a.date - b.date);
        let left = q;
        kept = null;
        for (const c of exits) {
          left -= p.tiers.basis === 'points' ? c.points : c.spend;
          if (left < levels[level].threshold) {
            kept = c.date + w.days * DAY_MS;
            break;
          }
        }
      }
    }
    if (level === 0) kept = null;
    const nextLevel = levels[level + 1];
    tierStatus = {
      name: levels[level].name,
      level,
      since: iso(tierSince),
      keptUntil: kept === null ? null : iso(kept),
      basis: p.tiers.basis,
      qualifying: q,
      next: nextLevel ? { name: nextLevel.name, threshold: nextLevel.threshold, remaining: Math.max(0, nextLevel.threshold - q) } : null,
      contributions: contributions
        .filter((c) => c.effectiveAt <= asOf && c.date <= asOf && (w.kind === 'rolling' ? c.date > asOf - w.days * DAY_MS : yearOf(c.date) === yearOf(asOf)))
        .map((c) => ({ cause: c.cause, date: iso(c.date), points: c.points, spendMinor: c.spend, note: c.note })),
    };
  }
  movements.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return {
    customerId,
    asOf: iso(asOf),
    programVersion: current?.version ?? null,
    balance: { pending, available },
    lifetimeEarned,
    redeemed,
    expired,
    takenBack,
    adjusted,
    writtenOff,
    tier: tierStatus,
    movements,
    tierHistory,
    withheld,
    ignored,
  };
}

/**
 * The ledger of `customerId` as of `asOf`, from the facts of the customer and of customers linked
 * to it by referrals (any order, duplicates by id ignored) and every program version.
 */
export function computeLedger(customerId: string, facts: readonly LoyaltyFact[], programs: readonly ProgramVersion[], asOf: string): Ledger {
  const asOfMs = ms(asOf);
  if (!Number.isFinite(asOfMs)) throw new RangeError(`invalid as-of instant ${asOf}`);
  const unique = new Map<string, LoyaltyFact>();
  for (const f of facts) if (!unique.has(f.id) || f.customerId < unique.get(f.id)!.customerId) unique.set(f.id, f);
  const all = [...unique.values()].filter((f) => ms(f.occurredAt) <= asOfMs);
  const progs = programs.filter((p) => ms(p.effectiveFrom) <= asOfMs);
  const ledger = replay(customerId, all, progs, asOfMs);

  // Corrections: at each arrival instant that brings a late fact (or a back-dated program version),
  // the ledger known just after it against the ledger known just before it, both as of that instant.
  // A customer with nothing known before (a first import of history) has nothing to correct.
  const arrivedOf = (f: LoyaltyFact) => ms(f.receivedAt);
  const lateAt = new Map<number, { id: string; kind: string; order: string }[]>();
  const addLate = (at: number, id: string, kind: string, order: string) => {
    if (at > asOfMs) return;
    (lateAt.get(at) ?? lateAt.set(at, []).get(at)!).push({ id, kind, order });
  };
  for (const f of all) if (arrivedOf(f) - ms(f.occurredAt) > LATE_MS) addLate(arrivedOf(f), f.id, `late ${f.kind}`, `${f.occurredAt} ${f.id}`);
  for (const p of progs) if (ms(p.recordedAt) - ms(p.effectiveFrom) > LATE_MS) addLate(ms(p.recordedAt), p.eventId, `back-dated program version ${p.version}`, `${p.effectiveFrom} ${p.eventId}`);
  const corrections: Correction[] = [];
  for (const at of [...lateAt.keys()].sort((a, b) => a - b).slice(-MAX_CORRECTIONS)) {
    const known = (arrived: number, inclusive: boolean) => (inclusive ? arrived <= at : arrived < at);
    const view = (inclusive: boolean) =>
      replay(
        customerId,
        all.filter((f) => known(arrivedOf(f), inclusive) && ms(f.occurredAt) <= at),
        progs.filter((p) => known(ms(p.recordedAt), inclusive) && ms(p.effectiveFrom) <= at),
        at,
      );
    if (!all.some((f) => f.customerId === customerId && arrivedOf(f) < at)) continue;
    const a = view(false);
    const b = view(true);
    const tierA = a.tier?.name ?? null;
    const tierB = b.tier?.name ?? null;
    const causes = lateAt.get(at)!.sort((x, y) => (x.order < y.order ? -1 : x.order > y.order ? 1 : 0));
    const c: Correction = {
      at: iso(at),
      cause: causes[0].id,
      causes: causes.map((x) => x.id),
      kind: [...new Set(causes.map((x) => x.kind))].join(', '),
      pending: b.balance.pending - a.balance.pending,
      available: b.balance.available - a.balance.available,
      lifetimeEarned: b.lifetimeEarned - a.lifetimeEarned,
      tier: tierA !== tierB ? { from: tierA, to: tierB } : null,
    };
    if (c.pending !== 0 || c.available !== 0 || c.lifetimeEarned !== 0 || c.tier !== null) corrections.push(c);
  }
  return { ...ledger, corrections };
}

/** GET /v1/loyalty/:customerId */
export type LoyaltySummary = Pick<Ledger, 'customerId' | 'asOf' | 'programVersion' | 'balance' | 'lifetimeEarned' | 'redeemed' | 'expired' | 'takenBack' | 'adjusted' | 'writtenOff'> & {
  readonly tier: Omit<TierStatus, 'contributions'> | null;
  /** How many corrections / withheld rewards the ledger holds (details in /ledger and /explain). */
  readonly corrections: number;
  readonly withheld: number;
};
/** GET /v1/loyalty/:customerId/ledger */
export type LoyaltyLedgerView = Pick<Ledger, 'customerId' | 'asOf' | 'programVersion' | 'balance' | 'movements' | 'tierHistory' | 'withheld' | 'ignored' | 'corrections'>;

/**
 * A person's facts (docs/identity.md): those of every id of theirs, each as the person's own
 * (`customerId` and a referral's `refereeId` rewritten to `personId`), so one ledger holds every
 * point, tier and referral of the person; a referral between two of their ids becomes a
 * self-referral and is withheld. Facts are deduplicated by id. Pure: an unmerge is the same call
 * with fewer ids, so it gives back each ledger exactly as it was.
 */
export function asPerson(personId: string, ids: ReadonlySet<string>, facts: readonly LoyaltyFact[]): LoyaltyFact[] {
  const seen = new Set<string>();
  const out: LoyaltyFact[] = [];
  for (const f of facts) {
    if (seen.has(f.id)) continue;
    seen.add(f.id);
    let g = ids.has(f.customerId) && f.customerId !== personId ? { ...f, customerId: personId } : f;
    if (g.kind === 'referral' && g.refereeId !== undefined && ids.has(g.refereeId) && g.refereeId !== personId) g = { ...g, refereeId: personId };
    out.push(g);
  }
  return out;
}
