import { describeProgram, loyaltyOverview, mapLimit, type LoyaltySummary } from './loyalty';

const member = (customerId: string, tier: string | null, available: number, pending: number, redeemed = 0, expired = 0): LoyaltySummary => ({
  customerId, asOf: '2026-12-01T00:00:00.000Z', programVersion: 1, balance: { pending, available }, lifetimeEarned: available + pending + redeemed + expired, redeemed, expired, takenBack: 0,
  tier: tier === null ? null : { name: tier, level: 0, since: '2026-01-01T00:00:00.000Z', keptUntil: null, qualifying: 0, next: null },
});

describe('loyaltyOverview', () => {
  const now = [member('a', 'Bronze', 100, 20), member('b', 'Silver', 300, 0, 50), member('c', 'Bronze', 300, 5, 0, 10)];
  const later = new Map([['a', { ...now[0]!, expired: 40 }], ['b', now[1]!], ['c', { ...now[2]!, expired: 25 }]]);

  it('counts members per tier in the program’s order, sums the liability, the expiring points and the redemptions', () => {
    const o = loyaltyOverview(now, later, [{ name: 'Bronze', threshold: 0 }, { name: 'Silver', threshold: 150 }, { name: 'Gold', threshold: 1000 }]);
    expect(o.tiers).toEqual([{ name: 'Bronze', members: 2 }, { name: 'Silver', members: 1 }, { name: 'Gold', members: 0 }]);
    expect({ members: o.members, pending: o.pending, available: o.available }).toEqual({ members: 3, pending: 25, available: 700 });
    expect({ expiringSoon: o.expiringSoon, membersExpiringSoon: o.membersExpiringSoon }).toEqual({ expiringSoon: 55, membersExpiringSoon: 2 });
    expect({ redeemed: o.redeemed, membersWhoRedeemed: o.membersWhoRedeemed }).toEqual({ redeemed: 50, membersWhoRedeemed: 1 });
    expect(o.topBalances.map((s) => s.customerId)).toEqual(['b', 'c', 'a']);
  });

  it('lists a tier no longer in the program after the current levels', () => {
    expect(loyaltyOverview([member('a', 'Platinum', 1, 0)], new Map(), [{ name: 'Bronze', threshold: 0 }]).tiers).toEqual([{ name: 'Bronze', members: 0 }, { name: 'Platinum', members: 1 }]);
  });
});

it('mapLimit keeps the order and never runs more than the limit at once', async () => {
  let running = 0;
  let most = 0;
  const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
    most = Math.max(most, ++running);
    await new Promise((r) => setTimeout(r, n));
    running--;
    return n * 10;
  });
  expect(out).toEqual([50, 10, 40, 20, 30]);
  expect(most).toBe(2);
});

it('describeProgram says a version in one sentence', () => {
  expect(describeProgram({ currency: 'USD', earn: { pointsPerUnit: 1 }, pendingDays: 14, expiry: { mode: 'fixed', days: 180 }, tiers: { levels: [{ name: 'Bronze', threshold: 0 }, { name: 'Silver', threshold: 150, multiplier: 1.25 }] } })).toBe(
    '1 point per 1.00 USD, pending 14 days, points expire 180 days after earning; tiers by points: Bronze (0), Silver (150, ×1.25)',
  );
});
