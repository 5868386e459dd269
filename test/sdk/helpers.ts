/** Shared helpers for the SDK e2e specs. */
import type { DeliveredReport } from '@cairn/sdk';

export interface ProfileCounters {
  views: number;
  orders: number;
  reviews: number;
  referralsMade: number;
  grossMinor: number;
  refundedMinor: number;
  averageRating: number | null;
}

/** Reads a profile from the real API, waiting (read-your-writes) until the log position is folded. */
export async function getProfile(url: string, key: string, customerId: string, minPosition?: string): Promise<(ProfileCounters & Record<string, unknown>) | null> {
  const q = minPosition ? `?minPosition=${minPosition}` : '';
  const res = await fetch(`${url}/v1/customers/${encodeURIComponent(customerId)}${q}`, { headers: { authorization: `Bearer ${key}` } });
  if (res.status === 404) return null;
  if (res.status !== 200) throw new Error(`GET customer ${customerId}: ${res.status} ${await res.text()}`);
  return (await res.json()) as ProfileCounters & Record<string, unknown>;
}

/** Highest commit position among delivered reports. */
export function maxPosition(reports: readonly DeliveredReport[]): string | undefined {
  let max: bigint | undefined;
  for (const r of reports) {
    if (!r.position) continue;
    const p = BigInt(r.position.commit);
    if (max === undefined || p > max) max = p;
  }
  return max?.toString();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
