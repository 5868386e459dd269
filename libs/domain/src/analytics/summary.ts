/**
 * Per-customer calibration summaries for the customer-value models: from purchases (already mapped
 * to local calendar days) to (x, tx, T) and the mean spend of repeat purchase days.
 */
import type { RfmInput } from './models';

export interface DayPurchase {
  readonly customerId: string;
  /** Local calendar day (see periods.ts). */
  readonly day: number;
  readonly totalMinor: number;
}

export interface CustomerSummary extends RfmInput {
  readonly customerId: string;
  readonly firstDay: number;
  /** Mean spend (minor units) of the repeat purchase days; 0 when x = 0. */
  readonly monetaryMinor: number;
}

/**
 * Purchases up to and including `calibrationEndDay`; several orders on one day are one occasion
 * whose spend is their sum. x = distinct purchase days − 1, tx = (last day − first day) / unitDays,
 * T = (calibration end − first day) / unitDays, monetary = mean spend of the days after the first.
 * Customers whose first purchase is after the calibration end are left out.
 */
export function summarizeCustomers(purchases: Iterable<DayPurchase>, calibrationEndDay: number, unitDays: number): CustomerSummary[] {
  const byCustomer = new Map<string, Map<number, number>>();
  for (const p of purchases) {
    if (p.day > calibrationEndDay) continue;
    let days = byCustomer.get(p.customerId);
    if (!days) byCustomer.set(p.customerId, (days = new Map()));
    days.set(p.day, (days.get(p.day) ?? 0) + p.totalMinor);
  }
  const out: CustomerSummary[] = [];
  for (const [customerId, days] of byCustomer) {
    const sorted = [...days.keys()].sort((a, b) => a - b);
    const first = sorted[0];
    const last = sorted[sorted.length - 1];
    let repeatSpend = 0;
    for (let i = 1; i < sorted.length; i++) repeatSpend += days.get(sorted[i])!;
    const x = sorted.length - 1;
    out.push({
      customerId,
      firstDay: first,
      x,
      tx: (last - first) / unitDays,
      T: (calibrationEndDay - first) / unitDays,
      monetaryMinor: x > 0 ? repeatSpend / x : 0,
    });
  }
  out.sort((a, b) => (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : 0));
  return out;
}
