import type { SegmentSizes } from './types';

/** The rows of a segment's sizes table: the periods with a change, newest first (a quiet period only carries the size over). */
export function changedPeriods(points: SegmentSizes['points']): SegmentSizes['points'] {
  return points.filter((p) => p.entries > 0 || p.exits > 0).reverse();
}
