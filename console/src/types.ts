/** The shapes of the API answers the console reads (docs/*.md). */
export interface Lag {
  events: number;
  capped: boolean;
  seconds: number | null;
}
export interface ProjectionStatus {
  name: string;
  version: number;
  state: string;
  checkpoint: string | null;
  eventsProcessed: number;
  rate: number;
  lag: Lag;
  lastError: string | null;
}
export interface AdminProjection extends ProjectionStatus {
  builtVersion: number | null;
  parked: number;
  rebuild: { id: string; state?: string; [k: string]: unknown } | null;
}
export interface Kpis {
  from: string;
  to: string;
  currency: string;
  customers: number;
  newCustomers: number;
  orders: number;
  grossMinor: number;
  refundedMinor: number;
  netMinor: number;
  repeatPurchaseRate: number | null;
  aovMinor: number | null;
  returnRateByOrders: number | null;
  referral: { kFactor: number | null };
  lifecycle: { period: string; active: number; new: number; returning: number; resurrecting: number; dormant: number; churnRate: number | null }[];
}
export interface RetentionGrid {
  period: string;
  returning: string;
  mode: string;
  cohort: string;
  timezone: string;
  asOf: string;
  periods: number[];
  cohorts: { cohort: string; size: number; counts: (number | null)[]; rates: (number | null)[] }[];
}
export interface Rfm {
  run: { runId: string; asOf: string; windowDays: number; customers: number; finishedAt: string | null };
  grid: number[][];
  segments: { segment: string; label: string; customers: number }[];
}
export interface Segment {
  id: string;
  name: string;
  version: number;
  condition: unknown;
  members: number;
  evaluated: boolean;
  createdAt: string;
  updatedAt: string;
}
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
export interface Profile {
  customerId: string;
  firstSeenAt: string;
  lastSeenAt: string;
  views: number;
  orders: number;
  currency: string;
  grossMinor: number;
  refundedMinor: number;
  netMinor: number;
  aovMinor: number | null;
  reviews: number;
  averageRating: number | null;
  referralsMade: number;
  channels: string[];
  lifecycleStage?: string;
  identity?: { customerId: string; customerIds: string[]; anonymousIds: string[]; sharedDevices: string[]; merges: { mergeId?: string; [k: string]: unknown }[] } | null;
}
export interface CustomerEvent {
  id: string;
  type: string;
  streamId: string;
  position: string;
  occurredAt: string;
  receivedAt: string;
  data: Record<string, unknown>;
}
export interface CustomerEvents {
  customerId: string;
  streams: string[];
  items: CustomerEvent[];
  nextCursor: string | null;
}
export interface SegmentSizes {
  segmentId: string;
  name: string;
  version: number;
  period: 'day' | 'week' | 'month';
  timezone: string;
  until: string;
  members: number;
  points: { period: string; start: string; entries: number; exits: number; size: number }[];
}
