import { displayRate, retentionGrid, retentionGridCsvRows } from './retention-grid';

const rows = [
  { cohort: '1997-01', size: 4, cells: [{ k: 0, count: 4, rate: 1 }, { k: 1, count: 1, rate: 0.25 }, { k: 2, count: null, rate: null }] },
  { cohort: '1997-02', size: 3, cells: [{ k: 0, count: 3, rate: 1 }, { k: 1, count: 2, rate: 2 / 3 }] },
  { cohort: '1997-03', size: 0, cells: [] },
];

describe('retentionGrid', () => {
  it('lays cohorts out by period offset, unobservable cells null', () => {
    expect(retentionGrid(rows)).toEqual({
      periods: [0, 1, 2],
      cohorts: [
        { cohort: '1997-01', size: 4, counts: [4, 1, null], rates: [1, 0.25, null] },
        { cohort: '1997-02', size: 3, counts: [3, 2, null], rates: [1, 2 / 3, null] },
        { cohort: '1997-03', size: 0, counts: [null, null, null], rates: [null, null, null] },
      ],
    });
  });

  it('an empty answer is an empty grid', () => {
    expect(retentionGrid([])).toEqual({ periods: [], cohorts: [] });
  });

  it('CSV rows round rates for display', () => {
    expect(displayRate(0.22146796775562155)).toBe(0.2215);
    expect(displayRate(null)).toBeNull();
    expect(retentionGridCsvRows(retentionGrid(rows)).rows[1]).toEqual(['1997-02', 3, 1, 0.6667, null]);
    expect(retentionGridCsvRows(retentionGrid(rows)).header).toEqual(['cohort', 'size', '0', '1', '2']);
  });
});
