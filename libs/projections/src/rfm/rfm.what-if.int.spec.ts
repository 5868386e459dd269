/**
 * The RFM what-if area over a read model of profiles: the customers who change segment are
 * exactly those a direct computation (rfmInputOf + scoreRfm, as a live run scores) says change,
 * under another window and under fixed cut-offs; bad rules named by JSON path.
 */
import { RFM_SEGMENTS, rfmInputOf, rfmSegment, scoreRfm, type RfmCustomerInput, type RfmScore } from '@cairn/domain';
import type { ReadStore } from '@cairn/read-models';
import { allProfiles, contextAt, population, profilesOf } from '../ops/what-if-areas.test-support';
import { parseRfmWhatIf, rfmWhatIfArea, scoreWith, type RfmWhatIfSummary } from './rfm.what-if';

const AT = '2026-06-30T23:59:59.000Z';

describe('RFM what-if', () => {
  let scratch: ReadStore;
  beforeAll(async () => {
    scratch = await profilesOf(population(150, 7));
  });
  afterAll(() => scratch.close());

  /** A live run's scores, computed directly: segment per customer with an order in the window. */
  const direct = async (windowDays: number, rescore: (s: RfmScore) => RfmScore = (s) => s) => {
    const asOf = new Date(AT);
    const inputs = (await allProfiles(scratch.db)).map((p) => rfmInputOf(p, { asOf, windowDays })).filter((x): x is RfmCustomerInput => x !== null);
    return new Map(scoreRfm(inputs, { asOf, windowDays }).map(rescore).map((s) => [s.customerId, s.segment]));
  };
  const movesOf = (before: Map<string, string>, after: Map<string, string>) =>
    [...new Set([...before.keys(), ...after.keys()])]
      .sort()
      .filter((id) => before.get(id) !== after.get(id))
      .map((id) => ({ customerId: id, from: before.get(id) ?? null, to: after.get(id) ?? null }));

  it('a shorter window: the customers who change segment (or leave scoring) are the direct computation', async () => {
    const area = rfmWhatIfArea();
    const out = await area.compare(scratch.db, area.parse({ windowDays: 120 }), contextAt(AT));
    const s = out.summary as RfmWhatIfSummary;
    const before = await direct(365);
    const after = await direct(120);
    const moves = movesOf(before, after);
    expect(moves.length).toBeGreaterThan(10);
    expect(moves.some((m) => m.to === null)).toBe(true);
    expect(s).toMatchObject({ at: AT, live: { windowDays: 365, cutoffs: {} }, whatIf: { windowDays: 120, cutoffs: {} }, scored: { before: before.size, after: after.size }, changed: moves.length });
    expect(s.changes).toEqual(moves.slice(0, 20));
    expect((out.files!.changes as { customerId: string; from: { segment: string } | null; to: { segment: string } | null }[]).map((m) => ({ customerId: m.customerId, from: m.from?.segment ?? null, to: m.to?.segment ?? null }))).toEqual(moves);
    // Per transition and per segment, the counts add up.
    expect(s.transitions.reduce((n, t) => n + t.customers, 0)).toBe(moves.length);
    for (const t of s.transitions) expect(t.customers).toBe(moves.filter((m) => m.from === t.from && m.to === t.to).length);
    for (const seg of s.segments) {
      expect(seg.before).toBe([...before.values()].filter((x) => x === seg.segment).length);
      expect(seg.after).toBe([...after.values()].filter((x) => x === seg.segment).length);
    }
    expect(s.segments.map((x) => x.segment)).toEqual([...RFM_SEGMENTS]);
  });

  it('fixed cut-offs instead of quintiles, with the live window from the area options', async () => {
    const area = rfmWhatIfArea({ windowDays: 200 });
    const rules = area.parse({ cutoffs: { recencyDays: [14, 30, 60, 120], orders: [2, 3, 4, 5] } });
    const out = await area.compare(scratch.db, rules, contextAt(AT));
    const s = out.summary as RfmWhatIfSummary;
    const r = (d: number) => (d <= 14 ? 5 : d <= 30 ? 4 : d <= 60 ? 3 : d <= 120 ? 2 : 1);
    const f = (n: number) => (n >= 5 ? 5 : n >= 4 ? 4 : n >= 3 ? 3 : n >= 2 ? 2 : 1);
    const before = await direct(200);
    const after = await direct(200, (x) => ({ ...x, r: r(x.recencyDays), f: f(x.orders), segment: rfmSegment(r(x.recencyDays), f(x.orders)) }));
    const moves = movesOf(before, after);
    expect(moves.length).toBeGreaterThan(5);
    expect(s).toMatchObject({ live: { windowDays: 200 }, whatIf: { windowDays: 200, cutoffs: { recencyDays: [14, 30, 60, 120], orders: [2, 3, 4, 5] } }, changed: moves.length, changes: moves.slice(0, 20) });
    expect(s.scored.before).toBe(s.scored.after);
  });

  it('scores by cut-offs at the boundaries (M too), leaving the segment to R and F', () => {
    const asOf = new Date(AT);
    const at = (days: number) => new Date(asOf.getTime() - days * 86_400_000).toISOString();
    const inputs: RfmCustomerInput[] = [
      { customerId: 'a', lastOrderAt: at(14), orders: 5, netMinor: 100_000 },
      { customerId: 'b', lastOrderAt: at(15), orders: 4, netMinor: 99_999 },
      { customerId: 'c', lastOrderAt: at(121), orders: 1, netMinor: 0 },
    ];
    const scores = scoreWith(inputs, asOf, { windowDays: 365, cutoffs: { recencyDays: [14, 30, 60, 120], orders: [2, 3, 4, 5], netMinor: [1000, 10_000, 50_000, 100_000] } });
    expect(scores.map((x) => [x.customerId, x.r, x.f, x.m, x.segment])).toEqual([
      ['a', 5, 5, 5, 'champions'],
      ['b', 4, 4, 4, 'loyal_customers'],
      ['c', 1, 1, 1, 'hibernating'],
    ]);
  });

  it('refuses bad rules naming each JSON path under rules.rfm', () => {
    const fields = (rules: unknown) => {
      try {
        parseRfmWhatIf(rules);
      } catch (err) {
        expect(err).toMatchObject({ code: 'CAIRN.VALIDATION' });
        return (err as { details: { fields: { field: string }[] } }).details.fields.map((x) => x.field);
      }
      throw new Error('accepted');
    };
    expect(fields([])).toEqual(['rules.rfm']);
    expect(fields({})).toEqual(['rules.rfm']);
    expect(fields({ windowDays: 0, quantiles: 4 })).toEqual(['rules.rfm.quantiles', 'rules.rfm.windowDays']);
    expect(fields({ windowDays: 90.5, cutoffs: {} })).toEqual(['rules.rfm.windowDays', 'rules.rfm.cutoffs']);
    expect(fields({ cutoffs: { recencyDays: [30, 30, 60, 90], orders: [0, 2, 3, 4], netMinor: [1, 2, 3], monetary: [1, 2, 3, 4] } })).toEqual([
      'rules.rfm.cutoffs.recencyDays[1]',
      'rules.rfm.cutoffs.orders[0]',
      'rules.rfm.cutoffs.netMinor',
      'rules.rfm.cutoffs.monetary',
    ]);
    expect(parseRfmWhatIf({ cutoffs: { orders: [2, 3, 4, 6], recencyDays: [7, 30, 90, 180] }, windowDays: 180 })).toEqual({ windowDays: 180, cutoffs: { recencyDays: [7, 30, 90, 180], orders: [2, 3, 4, 6] } });
  });
});
