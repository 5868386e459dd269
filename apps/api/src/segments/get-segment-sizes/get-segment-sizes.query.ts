import { Query } from '@nestjs/cqrs';
import type { SizePeriod, SizePoint } from '@cairn/domain';

export interface SegmentSizes {
  segmentId: string;
  name: string;
  version: number;
  period: SizePeriod;
  /** Periods are UTC calendar days, weeks (from Monday) or months. */
  timezone: 'UTC';
  /** The instant the last period ends at (now, or the end of `to`). */
  until: string;
  /** Members now (the segment's membership rows). */
  members: number;
  points: SizePoint[];
}

/** A segment's size per period with its entries and exits, from its membership history. */
export class GetSegmentSizesQuery extends Query<SegmentSizes> {
  constructor(
    readonly segmentId: string,
    readonly period: SizePeriod,
    /** ISO instant of the first period's start, or undefined: the first change's period. */
    readonly from: string | undefined,
    /** ISO instant to end at; undefined: now. */
    readonly until: string | undefined,
  ) {
    super();
  }
}
