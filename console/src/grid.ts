/**
 * Pure layout of the console's grids: the RFM 5×5 map (rows R5→R1, columns F1→F5, each cell
 * named by the same R×F map as the API) and the retention heatmap's colour scale.
 */
import { RFM_SEGMENT_LABELS, rfmSegment, type RfmSegment } from '../../libs/domain/src/rfm/rfm';

export interface RfmCell {
  readonly r: number;
  readonly f: number;
  readonly segment: RfmSegment;
  readonly label: string;
  readonly customers: number;
}

/** `grid[r-1][f-1]` (the API's shape) as display rows, best recency first. */
export function rfmRows(grid: readonly (readonly number[])[]): RfmCell[][] {
  return [5, 4, 3, 2, 1].map((r) =>
    [1, 2, 3, 4, 5].map((f) => {
      const segment = rfmSegment(r, f);
      return { r, f, segment, label: RFM_SEGMENT_LABELS[segment], customers: grid[r - 1]?.[f - 1] ?? 0 };
    }),
  );
}

/** A segment's hue (stable per segment), for the RFM map. */
export const SEGMENT_HUES: Readonly<Record<RfmSegment, number>> = {
  champions: 140,
  loyal_customers: 170,
  potential_loyalists: 200,
  new_customers: 220,
  promising: 250,
  need_attention: 45,
  about_to_sleep: 30,
  at_risk: 15,
  cant_lose_them: 350,
  hibernating: 0,
};

/**
 * Heatmap colour of a rate in [0, max]: light to dark blue on a square-root scale (retention past
 * k = 0 is small; a linear scale would paint every later cell the same pale). Null (not
 * observable yet) has no colour: the page hatches it.
 */
export function heatColor(rate: number | null, max: number): string | null {
  if (rate === null || !Number.isFinite(rate)) return null;
  const t = max > 0 ? Math.sqrt(Math.min(Math.max(rate / max, 0), 1)) : 0;
  const lightness = Math.round(96 - t * 60);
  return `hsl(212, 70%, ${lightness}%)`;
}

/** Dark cells take white text. */
export function heatText(rate: number | null, max: number): string {
  const c = heatColor(rate, max);
  if (c === null) return 'inherit';
  const lightness = Number(/(\d+)%\)$/.exec(c)?.[1] ?? 100);
  return lightness < 60 ? '#fff' : '#102a43';
}

/** The largest rate of the grid outside column k = 0 (always 100%), the top of the colour scale. */
export function heatMax(rates: readonly (readonly (number | null)[])[]): number {
  let max = 0;
  for (const row of rates) for (let k = 1; k < row.length; k++) if (row[k] !== null && row[k]! > max) max = row[k]!;
  return max || 1;
}

export interface Bin {
  readonly label: string;
  readonly from: number;
  readonly to: number;
  readonly count: number;
}

/**
 * Equal-width bins over [min, max] (the last bin includes max); `format` labels a bin by its lower
 * edge. Empty input gives no bins; one distinct value gives one bin holding everything.
 */
export function histogram(values: readonly number[], bins: number, format: (v: number) => string, range?: { min: number; max: number }): Bin[] {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return [];
  const min = range?.min ?? Math.min(...finite);
  const max = range?.max ?? Math.max(...finite);
  if (max <= min) return [{ label: format(min), from: min, to: max, count: finite.length }];
  const width = (max - min) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const v of finite) counts[Math.min(bins - 1, Math.max(0, Math.floor((v - min) / width)))]++;
  return counts.map((count, i) => ({ label: format(min + i * width), from: min + i * width, to: min + (i + 1) * width, count }));
}
