import fc from 'fast-check';
import { asPerson, computeLedger, explainLedger, purchasePoints, validateProgram, type LoyaltyFact, type LoyaltyProgram, type ProgramVersion, type PurchaseFact } from '..';

const DAY = 86_400_000;
const t = (day: number, hour = 12) => new Date(Date.UTC(2026, 0, 1) + day * DAY + hour * 3_600_000).toISOString();

const PROGRAM = {
  currency: 'EUR',
  earn: {
    pointsPerUnit: 1,
    unitMinor: 100,
    rounding: 'floor',
    categoryMultipliers: { shoes: 2 },
    review: { points: 50, requirePurchase: true },
    referral: { referrerPoints: 500, friendPoints: 200, maxPerWeek: 2 },
  },
  pendingDays: 30,
  expiry: { mode: 'none' },
  returns: { negativeBalance: 'allow' },
  tiers: {
    basis: 'points',
    window: { kind: 'rolling', days: 365 },
    downgrade: 'immediate',
    levels: [
      { name: 'Bronze', threshold: 0, multiplier: 1 },
      { name: 'Silver', threshold: 1000, multiplier: 1.5 },
      { name: 'Gold', threshold: 5000, multiplier: 2 },
    ],
  },
};

function program(overrides: Record<string, unknown> = {}): LoyaltyProgram {
  const v = validateProgram({ ...PROGRAM, ...overrides });
  if (!v.ok) throw new Error(JSON.stringify(v.errors));
  return v.program;
}
const version = (p: LoyaltyProgram, n = 1, effectiveFrom = t(-100), recordedAt = effectiveFrom): ProgramVersion => ({ version: n, effectiveFrom, recordedAt, eventId: `prog-${n}`, program: p });

let seq = 0;
const purchase = (customerId: string, day: number, totalMinor: number, extra: Partial<PurchaseFact> = {}): PurchaseFact => {
  const id = extra.id ?? `e${++seq}`;
  return {
    kind: 'purchase',
    id,
    customerId,
    occurredAt: t(day),
    receivedAt: t(day),
    orderId: `o-${id}`,
    currency: 'EUR',
    items: [{ productId: 'p1', amountMinor: totalMinor }],
    discountMinor: 0,
    totalMinor,
    ...extra,
  };
};
const ret = (customerId: string, day: number, orderId: string, refundMinor: number, receivedDay = day): LoyaltyFact => ({
  kind: 'return',
  id: `r${++seq}`,
  customerId,
  occurredAt: t(day),
  receivedAt: t(receivedDay),
  orderId,
  currency: 'EUR',
  refundMinor,
});
const redemption = (customerId: string, day: number, points: number): LoyaltyFact => ({ kind: 'redemption', id: `x${++seq}`, customerId, occurredAt: t(day), receivedAt: t(day), points });

describe('program validation', () => {
  it('accepts the documented program with defaults', () => {
    expect(validateProgram(PROGRAM).ok).toBe(true);
  });
  it('names the JSON path of every problem', () => {
    const v = validateProgram({
      ...PROGRAM,
      currency: 'eur',
      earn: { ...PROGRAM.earn, pointsPerUnit: 0.123, categoryMultipliers: { shoes: 'x' } },
      tiers: { ...PROGRAM.tiers, levels: [{ name: 'A', threshold: 10 }, { name: 'A', threshold: 5 }] },
      bogus: 1,
    });
    expect(v.ok).toBe(false);
    const fields = v.ok ? [] : v.errors.map((e) => e.field);
    expect(fields).toEqual(
      expect.arrayContaining(['currency', 'earn.pointsPerUnit', 'earn.categoryMultipliers.shoes', 'tiers.levels[0].threshold', 'tiers.levels[1].name', 'tiers.levels[1].threshold', 'bogus']),
    );
  });
  it('refuses fixed expiry shorter than the pending period', () => {
    const v = validateProgram({ ...PROGRAM, expiry: { mode: 'fixed', days: 10 } });
    expect(v.ok ? [] : v.errors.map((e) => e.field)).toEqual(['expiry.days']);
  });
  it('refuses a non-object body', () => {
    expect(validateProgram([])).toEqual({ ok: false, errors: [{ field: '(body)', message: 'must be an object' }] });
  });
});

describe('earning', () => {
  it('applies net spend, category and tier multipliers with the stated rounding', () => {
    const p = program();
    const f = purchase('c', 0, 0, { items: [{ productId: 'a', category: 'shoes', amountMinor: 1000 }, { productId: 'b', amountMinor: 1099 }], discountMinor: 199, totalMinor: 1900 });
    // net 1900 over subtotal 2099: (1000×2 + 1099) × 1900/2099 / 100 = 28.05… → 28 floor
    expect(purchasePoints(f, p, 1)).toEqual({ points: 28, netSpendMinor: 1900 });
    expect(purchasePoints(f, { ...p, earn: { ...p.earn, rounding: 'ceil' } }, 1).points).toBe(29);
    expect(purchasePoints(f, p, 1.5).points).toBe(42); // 42.07…
  });

  it('gives a category named like an Object.prototype member the default multiplier', () => {
    const f = purchase('c', 0, 0, { items: [{ productId: 'a', category: 'constructor', amountMinor: 1000 }, { productId: 'b', category: 'toString', amountMinor: 1000 }], discountMinor: 0, totalMinor: 2000 });
    expect(purchasePoints(f, program(), 1)).toEqual({ points: 20, netSpendMinor: 2000 });
  });

  it('keeps points pending for the return window, then available — a function of as-of only', () => {
    const facts = [purchase('c', 0, 12_345)];
    const programs = [version(program())];
    const before = computeLedger('c', facts, programs, t(29));
    expect(before.balance).toEqual({ pending: 123, available: 0 });
    const after = computeLedger('c', facts, programs, t(30));
    expect(after.balance).toEqual({ pending: 0, available: 123 });
    expect(after.movements.map((m) => m.type)).toEqual(['earned', 'available']);
    expect(after.movements[0]).toMatchObject({ cause: facts[0].id, ruleVersion: 1 });
  });

  it('earns nothing in another currency or before any program, and says why', () => {
    const l = computeLedger('c', [purchase('c', -200, 5000), purchase('c', 0, 5000, { currency: 'USD' })], [version(program())], t(60));
    expect(l.lifetimeEarned).toBe(0);
    expect(l.ignored.map((i) => i.reason)).toEqual(['no loyalty program in force', 'currency USD does not earn (program currency EUR)']);
  });
});

describe('returns', () => {
  it('takes back points in proportion to the refunded share, from pending first', () => {
    const p1 = purchase('c', 0, 10_000);
    const l = computeLedger('c', [p1, ret('c', 5, p1.orderId, 2_500)], [version(program())], t(40));
    expect(l.balance).toEqual({ pending: 0, available: 75 });
    expect(l.takenBack).toBe(25);
    expect(l.movements.find((m) => m.type === 'taken-back')).toMatchObject({ pending: -25, available: 0 });
  });

  it('lets the balance go negative under `allow`, or writes off under `floor-at-zero`', () => {
    const p1 = purchase('c', 0, 10_000);
    const facts = [p1, redemption('c', 35, 80), ret('c', 40, p1.orderId, 10_000)];
    const allow = computeLedger('c', facts, [version(program())], t(50));
    expect(allow.balance.available).toBe(-80);
    const floor = computeLedger('c', facts, [version(program({ returns: { negativeBalance: 'floor-at-zero' } }))], t(50));
    expect(floor.balance.available).toBe(0);
    expect(floor.writtenOff).toBe(80);
    // A later purchase repays the negative balance when it becomes available.
    const later = computeLedger('c', [...facts, purchase('c', 60, 20_000)], [version(program())], t(100));
    expect(later.balance.available).toBe(120);
  });
});

describe('expiry', () => {
  it('expires each lot a fixed number of days after earning', () => {
    const prog = program({ expiry: { mode: 'fixed', days: 90 } });
    const facts = [purchase('c', 0, 10_000), purchase('c', 50, 5_000)];
    expect(computeLedger('c', facts, [version(prog)], t(89)).balance.available).toBe(150);
    const l = computeLedger('c', facts, [version(prog)], t(90));
    expect(l.balance.available).toBe(50);
    expect(l.expired).toBe(100);
  });
  it('redemptions use the soonest-expiring points first', () => {
    const prog = program({ expiry: { mode: 'fixed', days: 90 } });
    const facts = [purchase('c', 0, 10_000), purchase('c', 1, 10_000), redemption('c', 40, 100)];
    const l = computeLedger('c', facts, [version(prog)], t(90));
    expect(l.expired).toBe(0);
    expect(l.balance.available).toBe(100);
  });
  it('expires the whole available balance after N days without activity', () => {
    const prog = program({ expiry: { mode: 'inactivity', days: 60 } });
    const facts = [purchase('c', 0, 10_000)];
    expect(computeLedger('c', facts, [version(prog)], t(59)).balance.available).toBe(100);
    expect(computeLedger('c', facts, [version(prog)], t(60)).balance).toEqual({ pending: 0, available: 0 });
    expect(computeLedger('c', [...facts, redemption('c', 50, 10)], [version(prog)], t(100)).balance.available).toBe(90);
  });
});

describe('tiers', () => {
  it('qualifies by points over a rolling window and drops immediately when they leave it', () => {
    const facts = [purchase('c', 0, 100_000), purchase('c', 10, 100_000)];
    const l = computeLedger('c', facts, [version(program())], t(20));
    // second order earns at Silver ×1.5
    expect(l.lifetimeEarned).toBe(1000 + 1500);
    expect(l.tier).toMatchObject({ name: 'Silver', qualifying: 2500, keptUntil: t(375), next: { name: 'Gold', remaining: 2500 } });
    expect(computeLedger('c', facts, [version(program())], t(365)).tier).toMatchObject({ name: 'Silver', qualifying: 1500 });
    expect(computeLedger('c', facts, [version(program())], t(375)).tier).toMatchObject({ name: 'Bronze', qualifying: 0 });
  });

  it('keeps the tier until the end of the period under `end-of-period`, `never` keeps it', () => {
    const facts = [purchase('c', 0, 100_000)];
    const eop = version(program({ tiers: { ...PROGRAM.tiers, downgrade: 'end-of-period', window: { kind: 'calendar-year' } } }));
    expect(computeLedger('c', facts, [eop], t(400)).tier).toMatchObject({ name: 'Silver', qualifying: 0, keptUntil: '2028-01-01T00:00:00.000Z' });
    expect(computeLedger('c', facts, [eop], '2028-01-01T00:00:00.000Z').tier).toMatchObject({ name: 'Bronze' });
    const never = version(program({ tiers: { ...PROGRAM.tiers, downgrade: 'never' } }));
    expect(computeLedger('c', facts, [never], t(2000)).tier).toMatchObject({ name: 'Silver', keptUntil: null });
  });

  it('at the end of the period the tier then qualified for is kept for another period', () => {
    const v1 = version(program({ tiers: { ...PROGRAM.tiers, downgrade: 'end-of-period' } }), 1);
    const v2 = version(program({ tiers: { ...PROGRAM.tiers, downgrade: 'end-of-period', window: { kind: 'rolling', days: 730 } } }), 2, t(100));
    const l = computeLedger('c', [purchase('c', 0, 100_000)], [v1, v2], t(400));
    expect(l.tier).toMatchObject({ name: 'Silver', keptUntil: t(365 + 730), qualifying: 1000 });
  });

  it('a return lowers the qualifying amount at the order date', () => {
    const p1 = purchase('c', 0, 100_000);
    const l = computeLedger('c', [p1, ret('c', 5, p1.orderId, 50_000)], [version(program())], t(10));
    expect(l.tier).toMatchObject({ name: 'Bronze', qualifying: 500 });
    expect(l.tierHistory.map((h) => h.to)).toEqual(['Bronze', 'Silver', 'Bronze']);
  });
});

describe('manual adjustments', () => {
  it('add available points or remove them, recorded as `adjusted` with the reason', () => {
    const adj = (day: number, points: number): LoyaltyFact => ({ kind: 'adjustment', id: `adj${++seq}`, customerId: 'c', occurredAt: t(day), receivedAt: t(day), points, reason: 'goodwill' });
    const l = computeLedger('c', [purchase('c', 0, 10_000), adj(1, 40), adj(40, -30)], [version(program())], t(41));
    expect(l.balance).toEqual({ pending: 0, available: 110 });
    expect(l.adjusted).toBe(10);
    expect(l.movements.filter((m) => m.type === 'adjusted').map((m) => [m.available, m.note])).toEqual([[40, 'manual adjustment: goodwill'], [-30, 'manual adjustment: goodwill']]);
  });
});

describe('review bonus', () => {
  const review = (customerId: string, day: number, productId: string): LoyaltyFact => ({ kind: 'review', id: `v${++seq}`, customerId, occurredAt: t(day), receivedAt: t(day), productId });
  it('rewards once per purchased product and records why others are withheld', () => {
    const l = computeLedger('c', [purchase('c', 0, 1000), review('c', 1, 'p1'), review('c', 2, 'p1'), review('c', 3, 'p9')], [version(program())], t(4));
    expect(l.balance).toEqual({ pending: 10, available: 50 });
    expect(l.withheld.map((w) => w.reason)).toEqual(['review bonus: product p1 was already rewarded', 'review bonus: product p9 was not purchased before the review']);
  });
});

describe('referrals', () => {
  const referral = (customerId: string, day: number, code: string, refereeId?: string): LoyaltyFact => ({
    kind: 'referral',
    id: `ref${++seq}`,
    customerId,
    occurredAt: t(day),
    receivedAt: t(day),
    referralCode: code,
    ...(refereeId ? { refereeId } : {}),
  });
  const programs = [version(program())];

  it('rewards referrer and friend when the friend’s first order passes the return window', () => {
    const facts = [referral('r', 0, 'R1'), purchase('f', 1, 1000, { referralCode: 'R1' })];
    expect(computeLedger('r', facts, programs, t(30)).balance.available).toBe(0);
    const r = computeLedger('r', facts, programs, t(31));
    expect(r.balance.available).toBe(500);
    expect(r.movements[0]).toMatchObject({ type: 'earned', cause: facts[0].id });
    expect(computeLedger('f', facts, programs, t(31)).balance.available).toBe(200 + 10);
  });

  it('gives the milestone bonus after every N rewarded referrals, and none for withheld ones', () => {
    const milestone = [version(program({ earn: { ...PROGRAM.earn, referral: { referrerPoints: 500, friendPoints: 0, maxPerWeek: 10, every: { count: 3, points: 1000 } } } }))];
    // Five friends buy with r's code on days 1, 11, 21, 31 and 41; the third one's order is returned (withheld).
    const facts = [referral('r', 0, 'RM'), ...['f1', 'f2', 'f3', 'f4', 'f5'].map((f, i) => purchase(f, 1 + i * 10, 1000, { referralCode: 'RM', id: `m-${f}` })), ret('f3', 22, 'o-m-f3', 1000)];
    const early = computeLedger('r', facts, milestone, t(40));
    // By day 71 (first order + 30 days) f1, f2, f4 and f5 are rewarded; the milestone comes with the third.
    const at = computeLedger('r', facts, milestone, t(71));
    expect(early.movements.filter((m) => m.note.startsWith('referral milestone'))).toEqual([]);
    expect(at.movements.filter((m) => m.type === 'earned' && m.note.startsWith('referral milestone'))).toEqual([expect.objectContaining({ pending: 1000, note: 'referral milestone: 3 successful referrals' })]);
    expect(at.lifetimeEarned).toBe(4 * 500 + 1000); // f1, f2, f4 and f5 rewarded; one milestone (at the third)
    expect(validateProgram({ ...PROGRAM, earn: { ...PROGRAM.earn, referral: { referrerPoints: 1, every: { count: 1, points: 0 } } } })).toMatchObject({
      ok: false,
      errors: [expect.objectContaining({ field: 'earn.referral.every.count' }), expect.objectContaining({ field: 'earn.referral.every.points' })],
    });
    // A program stored before milestones existed (no `every`) still computes.
    const old = program();
    const stored = { ...old, earn: { ...old.earn, referral: { referrerPoints: 500, friendPoints: 200, maxPerWeek: 2 } } } as unknown as LoyaltyProgram;
    expect(computeLedger('r', facts, [version(stored)], t(71)).lifetimeEarned).toBe(4 * 500);
  });

  it('withholds self-referral, a friend who was already a customer, a returned first order, and over the weekly cap', () => {
    const self = [referral('s', 0, 'S1'), purchase('s', 1, 1000, { referralCode: 'S1' })];
    expect(computeLedger('s', self, programs, t(40)).withheld[0].reason).toMatch(/self-referral/);

    const already = [purchase('f', 0, 1000), referral('r', 1, 'R2', 'f'), purchase('f', 2, 1000)];
    const r = computeLedger('r', already, programs, t(40));
    expect(r.balance.available).toBe(0);
    expect(r.withheld[0].reason).toMatch(/already a customer/);

    const returned = [referral('r', 0, 'R3'), purchase('g', 1, 1000, { referralCode: 'R3', id: 'g1' }), ret('g', 5, 'o-g1', 1000)];
    expect(computeLedger('r', returned, programs, t(40)).withheld[0].reason).toMatch(/returned/);

    const many = [referral('r', 0, 'R4'), ...['a', 'b', 'c'].map((f, i) => purchase(f, 1 + i, 1000, { referralCode: 'R4' }))];
    const capped = computeLedger('r', many, programs, t(40));
    expect(capped.balance.available).toBe(1000);
    expect(capped.withheld.map((w) => w.reason)).toEqual(['referrer referral reward: more than 2 referrals from this referrer within 7 days']);
    expect(explainLedger(capped).withheld).toHaveLength(1);
  });
});

describe('late events', () => {
  it('a late return gives the full-history ledger and a correction naming its cause', () => {
    const p1 = purchase('c', 0, 10_000);
    const late = ret('c', 5, p1.orderId, 10_000, 45);
    const l = computeLedger('c', [p1, late], [version(program())], t(50));
    expect(l.balance).toEqual({ pending: 0, available: 0 });
    expect(l.corrections).toEqual([{ at: t(45), cause: late.id, causes: [late.id], kind: 'late return', pending: 0, available: -100, lifetimeEarned: 0, tier: null }]);
  });
  it('a first import of back-dated history corrects nothing (nothing was known before)', () => {
    const p1 = { ...purchase('c', 0, 10_000), receivedAt: t(45) };
    const r1 = ret('c', 5, p1.orderId, 5_000, 45);
    expect(computeLedger('c', [p1, r1], [version(program())], t(50)).corrections).toEqual([]);
  });
  it('a back-dated program version is applied from its effective date and recorded as a correction', () => {
    const facts = [purchase('c', 0, 10_000)];
    const v2 = version(program({ earn: { ...PROGRAM.earn, pointsPerUnit: 2 } }), 2, t(-1), t(10));
    const l = computeLedger('c', facts, [version(program()), v2], t(40));
    expect(l.balance.available).toBe(200);
    expect(l.corrections).toEqual([expect.objectContaining({ cause: 'prog-2', kind: 'back-dated program version 2', pending: 100 })]);
  });
});

describe('properties', () => {
  const customers = ['a', 'b', 'c'];
  const factArb: fc.Arbitrary<LoyaltyFact> = fc.oneof(
    fc.record({ c: fc.constantFrom(...customers), day: fc.integer({ min: 0, max: 400 }), late: fc.integer({ min: 0, max: 60 }), amount: fc.integer({ min: 0, max: 200_000 }), code: fc.option(fc.constantFrom('A', 'B')), cat: fc.option(fc.constant('shoes')) }).map(
      ({ c, day, late, amount, code, cat }) => ({ ...purchase(c, day, amount, code ? { referralCode: code } : {}), receivedAt: t(day + late), items: [{ productId: `p${amount % 3}`, amountMinor: amount, ...(cat ? { category: cat } : {}) }] }),
    ),
    fc.record({ c: fc.constantFrom(...customers), day: fc.integer({ min: 0, max: 400 }), late: fc.integer({ min: 0, max: 60 }), refund: fc.integer({ min: 1, max: 100_000 }), order: fc.integer({ min: 1, max: 40 }) }).map(({ c, day, late, refund, order }) =>
      ret(c, day, `o-e${order}`, refund, day + late),
    ),
    fc.record({ c: fc.constantFrom(...customers), day: fc.integer({ min: 0, max: 400 }), p: fc.integer({ min: 0, max: 2 }) }).map(({ c, day, p }) => ({ kind: 'review' as const, id: `v${++seq}`, customerId: c, occurredAt: t(day), receivedAt: t(day), productId: `p${p}` })),
    fc.record({ c: fc.constantFrom(...customers), day: fc.integer({ min: 0, max: 400 }), code: fc.constantFrom('A', 'B'), friend: fc.option(fc.constantFrom(...customers)) }).map(({ c, day, code, friend }) => ({
      kind: 'referral' as const, id: `ref${++seq}`, customerId: c, occurredAt: t(day), receivedAt: t(day), referralCode: code, ...(friend ? { refereeId: friend } : {}),
    })),
    fc.record({ c: fc.constantFrom(...customers), day: fc.integer({ min: 0, max: 400 }), points: fc.integer({ min: 1, max: 500 }) }).map(({ c, day, points }) => redemption(c, day, points)),
    fc.record({ c: fc.constantFrom(...customers), day: fc.integer({ min: 0, max: 400 }), points: fc.integer({ min: -300, max: 300 }).filter((n) => n !== 0) }).map(({ c, day, points }) => ({
      kind: 'adjustment' as const, id: `adj${++seq}`, customerId: c, occurredAt: t(day), receivedAt: t(day), points, reason: 'goodwill',
    })),
  );
  const programArb = fc.record({
    expiry: fc.constantFrom({ mode: 'none' }, { mode: 'fixed', days: 120 }, { mode: 'inactivity', days: 90 }),
    downgrade: fc.constantFrom('never', 'end-of-period', 'immediate'),
    window: fc.constantFrom({ kind: 'rolling', days: 180 }, { kind: 'calendar-year' }),
    negativeBalance: fc.constantFrom('allow', 'floor-at-zero'),
    basis: fc.constantFrom('points', 'spend'),
  }).map((o) => version(program({ expiry: o.expiry, returns: { negativeBalance: o.negativeBalance }, tiers: { ...PROGRAM.tiers, basis: o.basis, downgrade: o.downgrade, window: o.window } })));

  it('merge: the person of a and b has the ledger of their facts written as one customer from the start; unmerge gives each its own back', () => {
    // The same facts, once as they were sent (a and b), once as if b's had always been a's.
    const asOne = (f: LoyaltyFact): LoyaltyFact => {
      const g = f.customerId === 'b' ? { ...f, customerId: 'a' } : f;
      return g.kind === 'referral' && g.refereeId === 'b' ? { ...g, refereeId: 'a' } : g;
    };
    fc.assert(
      fc.property(fc.array(factArb, { maxLength: 25 }), programArb, fc.integer({ min: 0, max: 800 }), (facts, prog, asOfDay) => {
        const merged = computeLedger('a', asPerson('a', new Set(['a', 'b']), facts), [prog], t(asOfDay));
        expect(merged).toEqual(computeLedger('a', facts.map(asOne), [prog], t(asOfDay)));
        // A third customer is untouched; apart again, each ledger is exactly its own.
        expect(computeLedger('c', asPerson('a', new Set(['a', 'b']), facts), [prog], t(asOfDay)).balance).toEqual(computeLedger('c', facts.map(asOne), [prog], t(asOfDay)).balance);
        for (const c of ['a', 'b']) expect(computeLedger(c, asPerson(c, new Set([c]), facts), [prog], t(asOfDay))).toEqual(computeLedger(c, facts, [prog], t(asOfDay)));
      }),
      { numRuns: 150 },
    );
  });

  it('any arrival order of the same facts gives the same ledger for a fixed as-of', () => {
    fc.assert(
      fc.property(fc.array(factArb, { maxLength: 25 }), programArb, fc.integer({ min: 0, max: 800 }), fc.infiniteStream(fc.nat()), (facts, prog, asOfDay, randoms) => {
        const shuffled = [...facts];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = randoms.next().value % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
        }
        for (const c of customers) expect(computeLedger(c, shuffled, [prog], t(asOfDay))).toEqual(computeLedger(c, facts, [prog], t(asOfDay)));
      }),
      { numRuns: 150 },
    );
  });

  it('balances are the sum of their movements; pending never negative', () => {
    fc.assert(
      fc.property(fc.array(factArb, { maxLength: 25 }), programArb, fc.integer({ min: 0, max: 800 }), (facts, prog, asOfDay) => {
        for (const c of customers) {
          const l = computeLedger(c, facts, [prog], t(asOfDay));
          expect(l.movements.reduce((s, m) => s + m.pending, 0)).toBe(l.balance.pending);
          expect(l.movements.reduce((s, m) => s + m.available, 0)).toBe(l.balance.available);
          expect(l.balance.pending).toBeGreaterThanOrEqual(0);
          expect(l.lifetimeEarned - l.takenBack - l.redeemed - l.expired + l.adjusted).toBe(l.balance.pending + l.balance.available);
          if (prog.program.returns.negativeBalance === 'floor-at-zero' && !facts.some((f) => f.kind === 'redemption' || f.kind === 'adjustment')) expect(l.balance.available).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('the worked example of docs/loyalty.md', () => {
  const v = validateProgram({
    currency: 'EUR',
    earn: { pointsPerUnit: 1, unitMinor: 100, rounding: 'floor', categoryMultipliers: { shoes: 2 }, review: { points: 50, requirePurchase: true }, referral: { referrerPoints: 500, friendPoints: 200, maxPerWeek: 3 } },
    pendingDays: 30,
    expiry: { mode: 'fixed', days: 365 },
    returns: { negativeBalance: 'allow' },
    tiers: { basis: 'points', window: { kind: 'rolling', days: 365 }, downgrade: 'end-of-period', levels: [{ name: 'Bronze', threshold: 0 }, { name: 'Silver', threshold: 1000, multiplier: 1.25 }, { name: 'Gold', threshold: 3000, multiplier: 1.5 }] },
  });
  if (!v.ok) throw new Error('example program invalid');
  const programs: ProgramVersion[] = [{ version: 1, effectiveFrom: '2026-01-01T00:00:00.000Z', recordedAt: '2026-01-01T00:00:00.000Z', eventId: 'prog-v1', program: v.program }];
  const on = <F extends { occurredAt: string }>(f: F) => ({ receivedAt: f.occurredAt, ...f });
  const facts: LoyaltyFact[] = [
    on({ kind: 'purchase', id: 'evt-p1', customerId: 'ana', occurredAt: '2026-02-01T10:00:00.000Z', orderId: 'o-1', currency: 'EUR', items: [{ productId: 'boots', category: 'shoes', amountMinor: 40000 }, { productId: 'tee', category: 'shirts', amountMinor: 10000 }], discountMinor: 5000, totalMinor: 45000 }),
    on({ kind: 'review', id: 'evt-rv1', customerId: 'ana', occurredAt: '2026-02-10T10:00:00.000Z', productId: 'boots' }),
    on({ kind: 'referral', id: 'evt-ref1', customerId: 'ana', occurredAt: '2026-02-20T10:00:00.000Z', referralCode: 'ANA-10', refereeId: 'ben' }),
    on({ kind: 'purchase', id: 'evt-b1', customerId: 'ben', occurredAt: '2026-02-25T10:00:00.000Z', orderId: 'o-b1', currency: 'EUR', items: [{ productId: 'cap', amountMinor: 8000 }], discountMinor: 0, totalMinor: 8000, referralCode: 'ANA-10' }),
    on({ kind: 'purchase', id: 'evt-p2', customerId: 'ana', occurredAt: '2026-03-05T10:00:00.000Z', orderId: 'o-2', currency: 'EUR', items: [{ productId: 'jacket', category: 'coats', amountMinor: 30000 }], discountMinor: 0, totalMinor: 30000 }),
    { kind: 'return', id: 'evt-r1', customerId: 'ana', occurredAt: '2026-03-10T10:00:00.000Z', receivedAt: '2026-04-10T09:00:00.000Z', orderId: 'o-1', currency: 'EUR', refundMinor: 9000 },
    on({ kind: 'redemption', id: 'evt-x1', customerId: 'ana', occurredAt: '2026-04-01T10:00:00.000Z', points: 600, reference: 'cart-77' }),
  ];

  it('gives the documented figures on 2026-04-15 and, with no new event, on 2027-02-02', () => {
    const l = computeLedger('ana', facts, programs, '2026-04-15T00:00:00Z');
    expect(l).toMatchObject({ balance: { pending: 0, available: 898 }, lifetimeEarned: 1660, redeemed: 600, expired: 0, takenBack: 162 });
    expect(l.tier).toMatchObject({ name: 'Silver', since: '2026-03-05T10:00:00.000Z', keptUntil: '2027-03-27T10:00:00.000Z', qualifying: 1498, next: { name: 'Gold', threshold: 3000, remaining: 1502 } });
    expect(l.corrections).toEqual([{ at: '2026-04-10T09:00:00.000Z', cause: 'evt-r1', causes: ['evt-r1'], kind: 'late return', pending: 0, available: -162, lifetimeEarned: 0, tier: null }]);
    expect(explainLedger(l).balance.summary).toBe('available 898, pending 0: lifetime earned 1660, taken back 162, redeemed 600, expired 0');
    const later = computeLedger('ana', facts, programs, '2027-02-02T00:00:00Z');
    expect(later.movements.filter((m) => m.type === 'expired')).toEqual([expect.objectContaining({ at: '2027-02-01T10:00:00.000Z', available: -48, cause: 'evt-p1' })]);
    expect(later).toMatchObject({ balance: { available: 850 }, tier: { name: 'Silver', qualifying: 850 } });
    expect(computeLedger('ben', facts, programs, '2026-04-15T00:00:00Z').balance.available).toBe(80 + 200);
  });
});
