import { cohortRetention, cohortRetentionBySets, computeKpis, median, type Facts, type OrderFact } from './metrics';
import { isoToDay, LocalCalendar, periodOf, periodLabel, zoneOffsetMs } from './periods';
import { summarizeCustomers } from './summary';

const at = (iso: string) => Date.parse(iso);
const day = (iso: string) => isoToDay(iso)!;
const utc = new LocalCalendar('UTC');
const berlin = new LocalCalendar('Europe/Berlin');
const order = (customerId: string, orderId: string, when: string, totalMinor = 1000, extra: Partial<OrderFact> = {}): OrderFact => ({
  customerId,
  orderId,
  at: at(when),
  totalMinor,
  currency: 'USD',
  ...extra,
});
const facts = (orders: OrderFact[], rest: Partial<Facts> = {}): Facts => ({ orders, returns: [], activity: [], ...rest });

describe('periods in the shop timezone', () => {
  it('a purchase at 23:30 UTC belongs to the next day in Europe/Berlin', () => {
    expect(utc.day(at('2026-01-31T23:30:00Z'))).toBe(day('2026-01-31'));
    expect(berlin.day(at('2026-01-31T23:30:00Z'))).toBe(day('2026-02-01'));
    // …and so to the next month.
    expect(periodOf(berlin.day(at('2026-01-31T23:30:00Z')), 'month')).toBe(2026 * 12 + 1);
  });
  it('summer time: Berlin is UTC+2 after the last Sunday of March', () => {
    expect(zoneOffsetMs(at('2026-03-29T00:59:00Z'), 'Europe/Berlin')).toBe(3_600_000);
    expect(zoneOffsetMs(at('2026-03-29T01:00:00Z'), 'Europe/Berlin')).toBe(7_200_000);
    expect(berlin.day(at('2026-06-30T22:00:00Z'))).toBe(day('2026-07-01'));
    expect(berlin.day(at('2026-06-30T21:59:59Z'))).toBe(day('2026-06-30'));
  });
  it('ISO weeks start on Monday; months by calendar', () => {
    expect(periodLabel(periodOf(day('2026-11-29'), 'week'), 'week')).toBe('2026-11-23'); // Sunday → Monday before
    expect(periodLabel(periodOf(day('2026-11-30'), 'week'), 'week')).toBe('2026-11-30');
    expect(periodLabel(periodOf(day('1970-01-01'), 'week'), 'week')).toBe('1969-12-29');
    expect(periodLabel(periodOf(day('2026-02-28'), 'month'), 'month')).toBe('2026-02');
  });
  it('local noon with the right offset (CDNOW import)', () => {
    expect(new LocalCalendar('America/New_York').localNoonIso(day('1997-01-01'))).toBe('1997-01-01T12:00:00-05:00');
    expect(new LocalCalendar('America/New_York').localNoonIso(day('1997-07-01'))).toBe('1997-07-01T12:00:00-04:00');
    expect(utc.localNoonIso(day('1997-01-01'))).toBe('1997-01-01T12:00:00Z');
  });
  it('rejects invalid dates and zones', () => {
    expect(isoToDay('2026-02-30')).toBeUndefined();
    expect(() => new LocalCalendar('Mars/Olympus')).toThrow(RangeError);
  });
});

describe('cohort retention', () => {
  // Cohort Jan: a (Jan, Feb, Apr), b (Jan); cohort Feb: c (Feb, Mar). As of 2026-04-15 (April incomplete).
  const f = facts([
    order('a', 'a1', '2026-01-05T10:00:00Z'),
    order('a', 'a2', '2026-02-10T10:00:00Z'),
    order('a', 'a3', '2026-04-02T10:00:00Z'),
    order('b', 'b1', '2026-01-20T10:00:00Z'),
    order('c', 'c1', '2026-02-01T10:00:00Z'),
    order('c', 'c2', '2026-03-03T10:00:00Z'),
  ]);
  const base = { period: 'month', returning: 'purchase', mode: 'bounded', cohort: 'first', asOfDay: day('2026-04-15'), calendar: utc } as const;

  it('bounded: share of the cohort buying in t+k; the incomplete month is null, not 0', () => {
    const rows = cohortRetention(f, base);
    expect(rows).toEqual([
      { cohort: '2026-01', size: 2, cells: [{ k: 0, count: 2, rate: 1 }, { k: 1, count: 1, rate: 0.5 }, { k: 2, count: 0, rate: 0 }, { k: 3, count: null, rate: null }] },
      { cohort: '2026-02', size: 1, cells: [{ k: 0, count: 1, rate: 1 }, { k: 1, count: 1, rate: 1 }, { k: 2, count: null, rate: null }] },
    ]);
  });
  it('unbounded: buying in t+k or later (to asOf)', () => {
    const rows = cohortRetention(f, { ...base, mode: 'unbounded' });
    // k = 2 (March or later, observed to 15 April): a's purchase on 2 April counts; k = 3 (April) is incomplete.
    expect(rows[0].cells.map((c) => c.count)).toEqual([2, 1, 1, null]);
    // On the last day of April, April is complete.
    const end = cohortRetention(f, { ...base, mode: 'unbounded', asOfDay: day('2026-04-30') });
    expect(end[0].cells.map((c) => c.count)).toEqual([2, 1, 1, 1]);
  });
  it('facts after asOf are ignored', () => {
    const rows = cohortRetention(f, { ...base, asOfDay: day('2026-01-31') });
    expect(rows).toEqual([{ cohort: '2026-01', size: 2, cells: [{ k: 0, count: 2, rate: 1 }] }]);
  });
  it('returning = any activity counts a view as coming back', () => {
    const withView = { ...f, activity: [{ kind: 'view' as const, customerId: 'b', at: at('2026-03-10T10:00:00Z') }] };
    expect(cohortRetention(withView, { ...base, returning: 'activity' })[0].cells.map((c) => c.count)).toEqual([2, 1, 1, null]);
  });
  it('recurring cohorts: customers buying in t who had bought before', () => {
    const rows = cohortRetention(f, { ...base, cohort: 'recurring' });
    expect(rows.map((r) => [r.cohort, r.size])).toEqual([
      ['2026-02', 1],
      ['2026-03', 1],
      ['2026-04', 1],
    ]);
    expect(rows[0].cells).toEqual([{ k: 0, count: 1, rate: 1 }, { k: 1, count: 0, rate: 0 }, { k: 2, count: null, rate: null }]);
  });
  it('timezone moves a 23:30 UTC first purchase into the next month in Berlin', () => {
    const g = facts([order('d', 'd1', '2026-01-31T23:30:00Z')]);
    expect(cohortRetention(g, { ...base, calendar: utc })[0].cohort).toBe('2026-01');
    expect(cohortRetention(g, { ...base, calendar: berlin })[0].cohort).toBe('2026-02');
  });
  it('weekly cohorts', () => {
    const g = facts([order('a', '1', '2026-11-02T10:00:00Z'), order('a', '2', '2026-11-10T10:00:00Z')]);
    const rows = cohortRetention(g, { ...base, period: 'week', asOfDay: day('2026-11-15') }); // a Sunday: week of 9 Nov complete
    expect(rows).toEqual([{ cohort: '2026-11-02', size: 1, cells: [{ k: 0, count: 1, rate: 1 }, { k: 1, count: 1, rate: 1 }] }]);
  });
  it('arrival order does not change the table; a re-sent order counts once', () => {
    const shuffled = facts([...f.orders].reverse().concat([order('a', 'a1', '2026-01-05T10:00:00Z')]));
    expect(cohortRetention(shuffled, base)).toEqual(cohortRetention(f, base));
  });
});

describe('KPIs (window 2026-03-01 … 2026-03-31, UTC)', () => {
  const f: Facts = {
    orders: [
      order('a', 'a0', '2026-02-10T10:00:00Z', 500), // before the window
      order('a', 'a1', '2026-03-02T10:00:00Z', 1000),
      order('a', 'a2', '2026-03-05T10:00:00Z', 3000),
      order('a', 'a3', '2026-03-15T10:00:00Z', 2000),
      order('b', 'b1', '2026-03-10T10:00:00Z', 4000, { referralCode: 'A-CODE' }),
      order('x', 'x1', '2026-03-11T10:00:00Z', 9999, { currency: 'EUR' }),
    ],
    returns: [{ customerId: 'a', orderId: 'a2', at: at('2026-03-20T10:00:00Z'), refundMinor: 1500 }],
    activity: [
      { kind: 'view', anonymousId: 'anon-1', at: at('2026-03-01T09:00:00Z') },
      { kind: 'identify', anonymousId: 'anon-1', customerId: 'b', at: at('2026-03-10T09:00:00Z') },
      { kind: 'view', customerId: 'b', at: at('2026-03-10T09:30:00Z') },
      { kind: 'view', anonymousId: 'anon-2', at: at('2026-03-12T09:00:00Z') },
      { kind: 'view', customerId: 'c', at: at('2026-03-12T09:00:00Z') },
      { kind: 'referral', customerId: 'a', referralCode: 'A-CODE', at: at('2026-03-01T10:00:00Z') },
      { kind: 'referral', customerId: 'a', referralCode: 'A-CODE', at: at('2026-03-03T10:00:00Z') },
      { kind: 'review', customerId: 'a', rating: 5, at: at('2026-03-03T10:00:00Z') },
      { kind: 'review', customerId: 'b', rating: 2, at: at('2026-03-12T10:00:00Z') },
    ],
  };
  const k = computeKpis(f, { fromDay: day('2026-03-01'), toDay: day('2026-03-31'), calendar: utc, currency: 'USD', period: 'month' });

  it('orders, customers, revenue, AOV, frequency, repeat rate', () => {
    expect(k.orders).toBe(5);
    expect(k.customers).toBe(3); // a, b, x
    expect(k.newCustomers).toBe(2); // b, x (a first bought in February)
    expect(k.grossMinor).toBe(10_000); // USD only: 1000 + 3000 + 2000 + 4000
    expect(k.refundedMinor).toBe(1500);
    expect(k.netMinor).toBe(8500);
    expect(k.aovMinor).toBe(2500); // 10,000 / 4 USD orders
    expect(k.purchaseFrequency).toBeCloseTo(5 / 3, 12);
    expect(k.repeatPurchaseRate).toBeCloseTo(1 / 3, 12);
    expect(k.medianDaysBetweenPurchases).toBe(6.5); // a: 3 and 10 days (the February gap is outside)
  });
  it('return rates by orders and by value', () => {
    expect(k.returnRateByOrders).toBeCloseTo(1 / 5, 12);
    expect(k.returnRateByValue).toBeCloseTo(1500 / 10_000, 12);
  });
  it('conversion counts an anonymous viewer once linked', () => {
    // viewers: b (anon-1 linked + own view = one person), anon-2, c → 3; converted: b.
    expect(k.viewers).toBe(3);
    expect(k.conversionRate).toBeCloseTo(1 / 3, 12);
  });
  it('referral K-factor and viral cycle time', () => {
    // 2 invites / 3 active customers; 1 of 2 invites converts (b's first order with A-CODE, 9 days after the first invite).
    expect(k.referral).toEqual({ invites: 2, activeCustomers: 3, invitesPerActive: 2 / 3, conversions: 1, conversionShare: 0.5, kFactor: 1 / 3, viralCycleDays: 9 });
  });
  it('review distribution and historic CLV', () => {
    expect(k.reviews).toEqual({ count: 2, distribution: { '1': 0, '2': 1, '3': 0, '4': 0, '5': 1 }, average: 3.5 });
    // net to date: 500 + 1000 + 1500 + 2000 + 4000 (USD) over customers a, b, x
    expect(k.historicClv).toEqual({ customers: 3, netMinor: 9000, averageNetMinor: 3000 });
  });
  it('lifecycle per month with churn', () => {
    const l = computeKpis(f, { fromDay: day('2026-02-01'), toDay: day('2026-04-30'), calendar: utc, currency: 'USD', period: 'month' }).lifecycle;
    expect(l).toEqual([
      { period: '2026-02', active: 1, new: 1, returning: 0, resurrecting: 0, dormant: 0, churnRate: null },
      { period: '2026-03', active: 3, new: 2, returning: 1, resurrecting: 0, dormant: 0, churnRate: 0 },
      { period: '2026-04', active: 0, new: 0, returning: 0, resurrecting: 0, dormant: 3, churnRate: 1 },
    ]);
  });
  it('a fully refunded referred first order does not convert', () => {
    const g = { ...f, returns: [...f.returns, { customerId: 'b', orderId: 'b1', at: at('2026-03-11T10:00:00Z'), refundMinor: 4000 }] };
    const r = computeKpis(g, { fromDay: day('2026-03-01'), toDay: day('2026-03-31'), calendar: utc, currency: 'USD', period: 'month' }).referral;
    expect(r.conversions).toBe(0);
    expect(r.kFactor).toBe(0);
  });
  it('empty window: ratios are null, not 0', () => {
    const e = computeKpis(facts([]), { fromDay: day('2026-03-01'), toDay: day('2026-03-31'), calendar: utc, currency: 'USD', period: 'month' });
    expect(e.aovMinor).toBeNull();
    expect(e.repeatPurchaseRate).toBeNull();
    expect(e.conversionRate).toBeNull();
    expect(e.referral.kFactor).toBeNull();
  });
  it('median', () => {
    expect(median([])).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
  });
});

describe('calibration summaries', () => {
  it('several orders on one day are one occasion; spend is summed per day', () => {
    const s = summarizeCustomers(
      [
        { customerId: 'a', day: 0, totalMinor: 100 },
        { customerId: 'a', day: 7, totalMinor: 200 },
        { customerId: 'a', day: 7, totalMinor: 300 },
        { customerId: 'a', day: 21, totalMinor: 0 },
        { customerId: 'a', day: 30, totalMinor: 999 }, // after the calibration end
        { customerId: 'b', day: 35, totalMinor: 50 }, // first purchase after the end: left out
      ],
      28,
      7,
    );
    expect(s).toEqual([{ customerId: 'a', firstDay: 0, x: 2, tx: 3, T: 4, monetaryMinor: 250 }]);
  });
});

describe('month periods without Date', () => {
  it('agrees with the UTC calendar for every day from 1899 to 2101', () => {
    for (let d = isoToDay('1899-12-01')!; d <= isoToDay('2101-03-01')!; d++) {
      const date = new Date(d * 86_400_000);
      expect(periodOf(d, 'month')).toBe(date.getUTCFullYear() * 12 + date.getUTCMonth());
    }
  });
});

describe('cohort retention: the dense implementation agrees with the set-based definition (property)', () => {
  it('for random facts, periods, modes, cohorts and zones', () => {
    const fc = require('fast-check') as typeof import('fast-check');
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const orderArb = fc.record({ c: fc.constantFrom(...ids), t: fc.integer({ min: 0, max: 400 * 24 }), n: fc.integer({ min: 0, max: 3 }) });
    const actArb = fc.record({ c: fc.constantFrom(...ids, 'zz'), t: fc.integer({ min: 0, max: 400 * 24 }) });
    fc.assert(
      fc.property(
        fc.array(orderArb, { maxLength: 30 }),
        fc.array(actArb, { maxLength: 10 }),
        fc.constantFrom('week', 'month'),
        fc.constantFrom('purchase', 'activity'),
        fc.constantFrom('bounded', 'unbounded'),
        fc.constantFrom('first', 'recurring'),
        fc.constantFrom('UTC', 'Europe/Berlin', 'Pacific/Auckland'),
        fc.integer({ min: 0, max: 420 }),
        (os, as, period, returning, mode, cohort, tz, asOf) => {
          const base = Date.parse('2026-01-01T00:00:00Z');
          const f: Facts = {
            orders: os.map((x, i) => ({ customerId: x.c, orderId: `o${i % 7}`, at: base + x.t * 3_600_000, totalMinor: x.n, currency: 'USD' })),
            returns: [],
            activity: as.map((x) => ({ kind: 'view' as const, customerId: x.c, at: base + x.t * 3_600_000 })),
          };
          const opts = { period, returning, mode, cohort, asOfDay: day('2026-01-01') + asOf, calendar: new LocalCalendar(tz) } as const;
          expect(cohortRetention(f, opts)).toEqual(cohortRetentionBySets(f, opts));
        },
      ),
      { numRuns: 300 },
    );
  });
});
