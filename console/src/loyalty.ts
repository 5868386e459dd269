/**
 * The Loyalty page's figures, aggregated in the browser from each member's ledger summary
 * (GET /v1/loyalty/:id now and as of the horizon): Cairn computes ledgers on read and keeps no
 * materialised program-wide summary (docs/loyalty.md, Limits). Pure: the summaries are passed in.
 */
export interface LoyaltySummary {
  customerId: string;
  asOf: string;
  programVersion: number;
  balance: { pending: number; available: number };
  lifetimeEarned: number;
  redeemed: number;
  expired: number;
  takenBack: number;
  adjusted?: number;
  writtenOff?: number;
  tier: { name: string; level: number; since: string; keptUntil: string | null; qualifying: number; next: { name: string; threshold: number; remaining: number } | null } | null;
}

export interface ProgramLevel {
  name: string;
  threshold: number;
  multiplier?: number;
}

export interface LoyaltyOverview {
  /** Customers with loyalty activity. */
  members: number;
  /** Members per tier, in the program's order (the current version's levels), then any other tier held. */
  tiers: { name: string; members: number }[];
  pending: number;
  available: number;
  /** Points that expire between now and the horizon if nothing else happens (the ledger as of the horizon). */
  expiringSoon: number;
  membersExpiringSoon: number;
  redeemed: number;
  membersWhoRedeemed: number;
  /** Members by available balance, highest first (ties by id). */
  topBalances: LoyaltySummary[];
}

export function loyaltyOverview(now: LoyaltySummary[], horizon: Map<string, LoyaltySummary>, levels: ProgramLevel[], top = 10): LoyaltyOverview {
  const perTier = new Map<string, number>(levels.map((l) => [l.name, 0]));
  let pending = 0;
  let available = 0;
  let expiringSoon = 0;
  let membersExpiringSoon = 0;
  let redeemed = 0;
  let membersWhoRedeemed = 0;
  for (const s of now) {
    const tier = s.tier?.name ?? 'No tier';
    perTier.set(tier, (perTier.get(tier) ?? 0) + 1);
    pending += s.balance.pending;
    available += s.balance.available;
    redeemed += s.redeemed;
    if (s.redeemed > 0) membersWhoRedeemed++;
    const later = horizon.get(s.customerId);
    const expiring = later ? later.expired - s.expired : 0;
    if (expiring > 0) {
      expiringSoon += expiring;
      membersExpiringSoon++;
    }
  }
  const topBalances = [...now].sort((a, b) => b.balance.available - a.balance.available || (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : 0)).slice(0, top);
  return { members: now.length, tiers: [...perTier].map(([name, members]) => ({ name, members })), pending, available, expiringSoon, membersExpiringSoon, redeemed, membersWhoRedeemed, topBalances };
}

/** Runs `work` over `items` with at most `limit` at a time; results in the items' order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

/** One program version in a sentence: "1 point per 1.00 USD, pending 14 days, no expiry; tiers Bronze (0), Silver (150)". */
export function describeProgram(p: { currency: string; earn: { pointsPerUnit: number; unitMinor?: number }; pendingDays?: number; expiry?: { mode: string; days?: number }; tiers: { basis?: string; levels: ProgramLevel[] } }): string {
  const unit = ((p.earn.unitMinor ?? 100) / 100).toFixed(2);
  const expiry = !p.expiry || p.expiry.mode === 'none' ? 'no expiry' : p.expiry.mode === 'fixed' ? `points expire ${p.expiry.days} days after earning` : `the balance expires after ${p.expiry.days} days without activity`;
  const levels = p.tiers.levels.map((l) => `${l.name} (${l.threshold}${l.multiplier && l.multiplier !== 1 ? `, ×${l.multiplier}` : ''})`).join(', ');
  return `${p.earn.pointsPerUnit} point${p.earn.pointsPerUnit === 1 ? '' : 's'} per ${unit} ${p.currency}, pending ${p.pendingDays ?? 0} days, ${expiry}; tiers by ${p.tiers.basis ?? 'points'}: ${levels}`;
}
