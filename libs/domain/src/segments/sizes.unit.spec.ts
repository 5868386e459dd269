import fc from 'fast-check';
import { CairnError } from '../errors';
import { periodStart, segmentSizes, type MembershipChange } from './sizes';

const entered = (customerId: string, at: string): MembershipChange => ({ kind: 'entered', customerId, at });
const exited = (customerId: string, at: string): MembershipChange => ({ kind: 'exited', customerId, at });

describe('segmentSizes', () => {
  const history = [entered('a', '2026-11-02T10:00:00Z'), entered('b', '2026-11-02T11:00:00Z'), exited('a', '2026-11-04T09:00:00Z'), entered('c', '2026-11-04T23:59:59.999Z')];

  it('gives entries, exits and the size at the end of each day, days without a change included', () => {
    expect(segmentSizes(history, { period: 'day', until: '2026-11-05T08:00:00Z' }).points).toEqual([
      { period: '2026-11-02', start: '2026-11-02T00:00:00.000Z', entries: 2, exits: 0, size: 2 },
      { period: '2026-11-03', start: '2026-11-03T00:00:00.000Z', entries: 0, exits: 0, size: 2 },
      { period: '2026-11-04', start: '2026-11-04T00:00:00.000Z', entries: 1, exits: 1, size: 2 },
      { period: '2026-11-05', start: '2026-11-05T00:00:00.000Z', entries: 0, exits: 0, size: 2 },
    ]);
  });

  it('weeks start on Monday (UTC), months on the 1st; changes before from count in the starting size', () => {
    expect(segmentSizes(history, { period: 'week', until: '2026-11-10T00:00:00Z' }).points.map((p) => [p.period, p.entries, p.exits, p.size])).toEqual([
      ['2026-11-02', 3, 1, 2],
      ['2026-11-09', 0, 0, 2],
    ]);
    expect(segmentSizes(history, { period: 'month', until: '2026-12-01T00:00:00Z' }).points.map((p) => [p.period, p.size])).toEqual([
      ['2026-11', 2],
      ['2026-12', 2],
    ]);
    expect(segmentSizes(history, { period: 'day', from: '2026-11-04T00:00:00Z', until: '2026-11-04T12:00:00Z' }).points).toEqual([
      { period: '2026-11-04', start: '2026-11-04T00:00:00.000Z', entries: 0, exits: 1, size: 1 },
    ]);
  });

  it('leaves out changes after until, and has no points without history', () => {
    expect(segmentSizes(history, { period: 'day', until: '2026-11-02T10:30:00Z' }).points).toEqual([{ period: '2026-11-02', start: '2026-11-02T00:00:00.000Z', entries: 1, exits: 0, size: 1 }]);
    expect(segmentSizes([], { period: 'day', until: '2026-11-02T10:30:00Z' }).points).toEqual([]);
  });

  it('refuses more periods than maxPoints, naming period', () => {
    try {
      segmentSizes(history, { period: 'day', until: '2026-12-31T00:00:00Z', maxPoints: 10 });
      throw new Error('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(CairnError);
      expect((e as CairnError).details).toMatchObject({ fields: [{ field: 'period' }] });
    }
  });

  it('the last size is the net of every change, whatever their order; sizes step by entries − exits', () => {
    const change = fc.record({ kind: fc.constantFrom<'entered' | 'exited'>('entered', 'exited'), customerId: fc.constant('x'), at: fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2026, 11, 31) }).map((ms) => new Date(ms).toISOString()) });
    fc.assert(
      fc.property(fc.array(change, { maxLength: 60 }), fc.constantFrom('day' as const, 'week' as const, 'month' as const), (changes, period) => {
        const { points } = segmentSizes(changes, { period, until: '2027-01-01T00:00:00Z' });
        const net = changes.reduce((s, c) => s + (c.kind === 'entered' ? 1 : -1), 0);
        if (changes.length === 0) return points.length === 0;
        let size = 0;
        for (const p of points) {
          size += p.entries - p.exits;
          if (p.size !== size || Date.parse(p.start) !== periodStart(Date.parse(p.start), period)) return false;
        }
        return size === net && points.reduce((s, p) => s + p.entries + p.exits, 0) === changes.length;
      }),
    );
  });
});
