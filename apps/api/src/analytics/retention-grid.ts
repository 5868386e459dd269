/**
 * Retention as a cohort × period grid (`GET /v1/metrics/retention?shape=grid`): one row per
 * cohort, one column per period offset k = 0..max. A cell the cohort has not lived long enough to
 * observe is null (not 0: nobody could have come back yet).
 */
import type { RetentionRow } from '@cairn/domain';

export interface RetentionGrid {
  /** The period offsets of the columns: 0, 1, … up to the oldest cohort's last observable one. */
  readonly periods: number[];
  readonly cohorts: { readonly cohort: string; readonly size: number; readonly counts: (number | null)[]; readonly rates: (number | null)[] }[];
}

export function retentionGrid(rows: readonly RetentionRow[]): RetentionGrid {
  const width = rows.reduce((m, r) => Math.max(m, ...r.cells.map((c) => c.k + 1)), 0);
  const periods = Array.from({ length: width }, (_, k) => k);
  return {
    periods,
    cohorts: rows.map((r) => {
      const counts: (number | null)[] = periods.map(() => null);
      const rates: (number | null)[] = periods.map(() => null);
      for (const c of r.cells) {
        counts[c.k] = c.count;
        rates[c.k] = c.rate;
      }
      return { cohort: r.cohort, size: r.size, counts, rates };
    }),
  };
}

/** A rate for display: at most 4 decimals (0.2214679… → 0.2215); null stays null. */
export function displayRate(rate: number | null): number | null {
  return rate === null ? null : Math.round(rate * 10_000) / 10_000;
}

/** The grid as CSV rows: `cohort,size,0,1,…` with rates rounded for display, unobservable cells empty. */
export function retentionGridCsvRows(grid: RetentionGrid): { header: string[]; rows: (string | number | null)[][] } {
  return {
    header: ['cohort', 'size', ...grid.periods.map(String)],
    rows: grid.cohorts.map((c) => [c.cohort, c.size, ...c.rates.map(displayRate)]),
  };
}
