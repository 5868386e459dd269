/**
 * Predicted customer value from facts: calibration summaries → BG/NBD + Gamma-Gamma fits →
 * per-customer P(alive), churn risk, expected purchases, expected spend and predicted CLV.
 */
import type { Facts } from './metrics';
import { uniqueOrders } from './metrics';
import {
  churnBand,
  expectedPurchases,
  expectedSpend,
  fitBgNbd,
  fitGammaGamma,
  predictedClv,
  probabilityAlive,
  type BgNbdFit,
  type ChurnBand,
  type GammaGammaFit,
} from './models';
import type { LocalCalendar } from './periods';
import { summarizeCustomers, type CustomerSummary } from './summary';

export interface ClvReportOptions {
  readonly calendar: LocalCalendar;
  /** Last local day of the calibration window (inclusive). */
  readonly calibrationEndDay: number;
  readonly unit: 'day' | 'week';
  /** Horizon in `unit`s. */
  readonly horizon: number;
  readonly margin: number;
  readonly annualDiscountRate: number;
  /** Spend counts orders in this currency only (frequency counts every order). */
  readonly currency: string;
}

export interface ClvModel {
  readonly customers: number;
  readonly bgnbd: BgNbdFit;
  /** null when no customer has a repeat purchase with positive spend. */
  readonly gammaGamma: GammaGammaFit | null;
  /** Major units per minor unit of the currency (0.01 for USD): Gamma-Gamma is fitted in major units. */
  readonly minorToMajor: number;
}

export interface CustomerValue extends CustomerSummary {
  readonly pAlive: number;
  readonly churnRisk: number;
  readonly churnBand: ChurnBand;
  readonly expectedPurchases: number;
  /** Expected spend per purchase occasion, minor units (null without a Gamma-Gamma fit). */
  readonly expectedSpendMinor: number | null;
  readonly predictedClvMinor: number | null;
}

export const UNIT_DAYS = { day: 1, week: 7 } as const;

/** 10^-digits of an ISO 4217 currency (USD → 0.01, JPY → 1). */
export function minorToMajor(currency: string): number {
  try {
    const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    return Math.pow(10, -digits);
  } catch {
    return 0.01;
  }
}

/**
 * Calibration summaries: every order up to the calibration end counts as an occasion; the spend of
 * a day is the sum of its orders in the shop currency.
 */
export function calibrationSummaries(facts: Facts, o: Pick<ClvReportOptions, 'calendar' | 'calibrationEndDay' | 'unit' | 'currency'>): CustomerSummary[] {
  const purchases = (facts.unique ? facts.orders : uniqueOrders(facts.orders)).map((x) => ({ customerId: x.customerId, day: o.calendar.day(x.at), totalMinor: x.currency === o.currency ? x.totalMinor : 0 }));
  return summarizeCustomers(purchases, o.calibrationEndDay, UNIT_DAYS[o.unit]);
}

export function fitClvModel(summaries: readonly CustomerSummary[], currency: string): ClvModel {
  const scale = minorToMajor(currency);
  const bgnbd = fitBgNbd(summaries);
  const spenders = summaries.filter((s) => s.x > 0 && s.monetaryMinor > 0);
  const gammaGamma = spenders.length === 0 ? null : fitGammaGamma(spenders.map((s) => ({ x: s.x, m: s.monetaryMinor * scale })));
  return { customers: summaries.length, bgnbd, gammaGamma, minorToMajor: scale };
}

export function customerValue(model: ClvModel, s: CustomerSummary, o: Pick<ClvReportOptions, 'unit' | 'horizon' | 'margin' | 'annualDiscountRate'>): CustomerValue {
  const pAlive = probabilityAlive(model.bgnbd, s);
  const spend = model.gammaGamma === null ? null : expectedSpend(model.gammaGamma, { x: s.x, m: s.monetaryMinor * model.minorToMajor }) / model.minorToMajor;
  return {
    ...s,
    pAlive,
    churnRisk: 1 - pAlive,
    churnBand: churnBand(1 - pAlive),
    expectedPurchases: expectedPurchases(model.bgnbd, s, o.horizon),
    expectedSpendMinor: spend,
    predictedClvMinor:
      spend === null ? null : predictedClv(model.bgnbd, spend, s, { horizon: o.horizon, unitDays: UNIT_DAYS[o.unit], margin: o.margin, annualDiscountRate: o.annualDiscountRate }),
  };
}
