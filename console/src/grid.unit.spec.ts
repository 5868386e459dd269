import { heatColor, heatMax, heatText, histogram, rfmRows } from './grid';

describe('console grids', () => {
  it('RFM rows run R5→R1, columns F1→F5, each cell named and counted from grid[r-1][f-1]', () => {
    const grid = Array.from({ length: 5 }, (_, r) => Array.from({ length: 5 }, (_, f) => 10 * (r + 1) + (f + 1)));
    const rows = rfmRows(grid);
    expect(rows.map((row) => row[0].r)).toEqual([5, 4, 3, 2, 1]);
    expect(rows[0].map((c) => c.f)).toEqual([1, 2, 3, 4, 5]);
    expect(rows[0][4]).toEqual({ r: 5, f: 5, segment: 'champions', label: 'Champions', customers: 55 });
    expect(rows[4][0]).toEqual({ r: 1, f: 1, segment: 'hibernating', label: 'Hibernating', customers: 11 });
    expect(rows[2][2]).toMatchObject({ segment: 'need_attention', customers: 33 });
    expect(rows.flat().reduce((s, c) => s + c.customers, 0)).toBe(grid.flat().reduce((s, n) => s + n, 0));
  });

  it('heatmap: no colour when not observable, darker for higher rates, readable text', () => {
    expect(heatColor(null, 0.5)).toBeNull();
    const light = Number(/(\d+)%\)$/.exec(heatColor(0.01, 0.5)!)![1]);
    const dark = Number(/(\d+)%\)$/.exec(heatColor(0.5, 0.5)!)![1]);
    expect(dark).toBeLessThan(light);
    expect(heatColor(1, 0.5)).toBe(heatColor(0.5, 0.5)); // clamped: k = 0 is always 100%
    expect(heatText(0.5, 0.5)).toBe('#fff');
    expect(heatText(0, 0.5)).toBe('#102a43');
    expect(heatMax([[1, 0.2, null], [1, 0.3]])).toBe(0.3);
    expect(heatMax([[1]])).toBe(1);
  });
});

describe('histogram', () => {
  it('counts every value once in equal-width bins, the maximum in the last', () => {
    const bins = histogram([0, 0.05, 0.1, 0.5, 0.99, 1], 10, (v) => v.toFixed(1), { min: 0, max: 1 });
    expect(bins).toHaveLength(10);
    expect(bins.map((b) => b.count)).toEqual([2, 1, 0, 0, 0, 1, 0, 0, 0, 2]);
    expect(bins[0]).toMatchObject({ label: '0.0', from: 0, to: 0.1 });
  });
  it('no values: no bins; one distinct value: one bin', () => {
    expect(histogram([], 5, String)).toEqual([]);
    expect(histogram([3, 3, NaN], 5, String)).toEqual([{ label: '3', from: 3, to: 3, count: 2 }]);
  });
});
