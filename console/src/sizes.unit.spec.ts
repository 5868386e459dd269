import { changedPeriods } from './sizes';

it('changedPeriods keeps the periods with an entry or exit, newest first', () => {
  const p = (period: string, entries: number, exits: number, size: number) => ({ period, start: `${period}T00:00:00.000Z`, entries, exits, size });
  expect(changedPeriods([p('2026-11-01', 2, 0, 2), p('2026-11-02', 0, 0, 2), p('2026-11-03', 0, 1, 1)])).toEqual([p('2026-11-03', 0, 1, 1), p('2026-11-01', 2, 0, 2)]);
});
