import fc from 'fast-check';
import { evolveProfile, type FoldableEvent, type Profile } from '../profile';
import { rfmInputOf, rfmSegment, scoreRfm, type RfmCustomerInput } from './rfm';

const asOf = new Date('2026-12-31T00:00:00Z');
const opts = { asOf, windowDays: 365 };
const input = (customerId: string, lastOrderAt: string, orders: number, netMinor: number): RfmCustomerInput => ({ customerId, lastOrderAt, orders, netMinor });

describe('RFM scoring', () => {
  it('scores quintiles with R5 = most recent, F and M by count and net revenue', () => {
    const inputs = Array.from({ length: 10 }, (_, i) => input(`c${i}`, new Date(Date.UTC(2026, 0, 1 + i * 30)).toISOString(), i + 1, (i + 1) * 1000));
    const s = scoreRfm(inputs, opts);
    expect(s.map((x) => [x.customerId, x.r, x.f, x.m])).toEqual([
      ['c0', 1, 1, 1],
      ['c1', 1, 1, 1],
      ['c2', 2, 2, 2],
      ['c3', 2, 2, 2],
      ['c4', 3, 3, 3],
      ['c5', 3, 3, 3],
      ['c6', 4, 4, 4],
      ['c7', 4, 4, 4],
      ['c8', 5, 5, 5],
      ['c9', 5, 5, 5],
    ]);
    expect(s[9]!.segment).toBe('champions');
    expect(s[0]!.segment).toBe('hibernating');
    expect(s[9]!.recencyDays).toBe(Math.floor((asOf.getTime() - Date.parse(inputs[9]!.lastOrderAt)) / 86_400_000));
  });

  it('gives ties the same score, whatever the input order (property)', () => {
    const arb = fc.uniqueArray(
      fc.record({ customerId: fc.string({ minLength: 1, maxLength: 4 }), day: fc.integer({ min: 0, max: 5 }), orders: fc.integer({ min: 1, max: 3 }), net: fc.integer({ min: -100, max: 100 }) }),
      { selector: (x) => x.customerId, minLength: 1, maxLength: 40 },
    );
    fc.assert(
      fc.property(arb, fc.nat(), (rows, seed) => {
        const inputs = rows.map((x) => input(x.customerId, new Date(Date.UTC(2026, 5, 1 + x.day)).toISOString(), x.orders, x.net));
        const a = scoreRfm(inputs, opts);
        const rotated = [...inputs.slice(seed % inputs.length), ...inputs.slice(0, seed % inputs.length)].reverse();
        expect(scoreRfm(rotated, opts)).toEqual(a);
        for (const x of a) for (const y of a) if (x.orders === y.orders) expect(x.f).toBe(y.f);
        for (const x of a) expect([x.r, x.f, x.m].every((v) => v >= 1 && v <= 5)).toBe(true);
      }),
    );
  });

  it('handles tiny populations', () => {
    expect(scoreRfm([input('a', '2026-06-01T00:00:00.000Z', 1, 10)], opts)).toMatchObject([{ r: 1, f: 1, m: 1, segment: 'hibernating' }]);
    const two = scoreRfm([input('a', '2026-06-01T00:00:00.000Z', 1, 10), input('b', '2026-07-01T00:00:00.000Z', 2, 20)], opts);
    expect(two.map((x) => [x.r, x.f, x.m])).toEqual([[1, 1, 1], [3, 3, 3]]);
    expect(scoreRfm([], opts)).toEqual([]);
  });

  it('maps every R×F cell to exactly the standard segment', () => {
    const grid = [1, 2, 3, 4, 5].map((r) => [1, 2, 3, 4, 5].map((f) => rfmSegment(r, f)));
    expect(grid).toEqual([
      ['hibernating', 'hibernating', 'at_risk', 'at_risk', 'cant_lose_them'],
      ['hibernating', 'hibernating', 'at_risk', 'at_risk', 'cant_lose_them'],
      ['about_to_sleep', 'about_to_sleep', 'need_attention', 'loyal_customers', 'loyal_customers'],
      ['promising', 'potential_loyalists', 'potential_loyalists', 'loyal_customers', 'loyal_customers'],
      ['new_customers', 'potential_loyalists', 'potential_loyalists', 'champions', 'champions'],
    ]);
  });

  it('reads the window and net revenue after returns from a profile', () => {
    let n = 0;
    const ev = (type: FoldableEvent['type'], at: string, extra: Record<string, unknown>): FoldableEvent => ({ id: `e${++n}`, type, data: { customerId: 'c', occurredAt: at, channel: 'web', ...extra } as never });
    const buy = (orderId: string, at: string, total: number, currency = 'USD') => ev('cairn.purchase.v1', at, { orderId, currency, items: [{ productId: 'p', quantity: 1, unitPriceMinor: total }], totalMinor: total });
    const p = [
      buy('old', '2025-06-01T00:00:00Z', 9999),
      buy('o1', '2026-03-01T00:00:00Z', 1000),
      buy('o2', '2026-05-01T00:00:00Z', 3000),
      buy('eur', '2026-05-02T00:00:00Z', 500, 'EUR'),
      ev('cairn.return.v1', '2026-05-03T00:00:00Z', { orderId: 'o2', items: [], refundMinor: 1200, currency: 'USD' }),
      buy('future', '2027-02-01T00:00:00Z', 7000),
    ].reduce<Profile | undefined>((acc, e) => evolveProfile(acc, 'c', e, { currency: 'USD' }), undefined)!;
    expect(rfmInputOf(p, opts)).toEqual({ customerId: 'c', lastOrderAt: '2026-05-01T00:00:00.000Z', orders: 2, netMinor: 2800 });
    expect(rfmInputOf(p, { asOf: new Date('2026-01-01T00:00:00Z'), windowDays: 30 })).toBeNull();
  });
});
