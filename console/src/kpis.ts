/** The overview's figures (pure: the page and its browser e2e read them alike). */
import { formatCount, formatDecimal, formatMoney, formatPercent } from './format';
import type { Kpis } from './types';

/** The overview's figures: how each is read from a KPI answer and shown. */
export const OVERVIEW_KPIS: { key: string; label: string; value: (k: Kpis) => number | null; show: (v: number | null, k: Kpis) => string; lowerIsBetter?: boolean }[] = [
  { key: 'customers', label: 'Customers', value: (k) => k.customers, show: (v) => formatCount(v) },
  { key: 'repeat', label: 'Repeat rate', value: (k) => k.repeatPurchaseRate, show: (v) => formatPercent(v) },
  { key: 'aov', label: 'Average order value', value: (k) => k.aovMinor, show: (v, k) => formatMoney(v, k.currency) },
  { key: 'returns', label: 'Return rate (orders)', value: (k) => k.returnRateByOrders, show: (v) => formatPercent(v), lowerIsBetter: true },
  { key: 'churn', label: 'Churn (last period)', value: (k) => lastChurn(k), show: (v) => formatPercent(v), lowerIsBetter: true },
  { key: 'net', label: 'Net revenue', value: (k) => k.netMinor, show: (v, k) => formatMoney(v, k.currency) },
  { key: 'kfactor', label: 'K-factor', value: (k) => k.referral.kFactor, show: (v) => formatDecimal(v) },
];

/** The churn rate of the window's last lifecycle period that has one. */
export function lastChurn(k: Kpis): number | null {
  for (let i = k.lifecycle.length - 1; i >= 0; i--) if (k.lifecycle[i].churnRate !== null) return k.lifecycle[i].churnRate;
  return null;
}

