/**
 * Predicted customer value: the BG/NBD purchase model (Fader, Hardie & Lee, "Counting Your
 * Customers the Easy Way", Marketing Science 24(2), 2005), the Gamma-Gamma spend model (Fader,
 * Hardie & Lee 2005, "RFM and CLV"; Colombo & Jiang 1999) and the CLV built on both.
 *
 * Inputs per customer: x = repeat purchase occasions (days), tx = time of the last purchase and
 * T = time to the calibration end, both measured from the first purchase in one unit (day/week).
 * Fitted by maximum likelihood in log space over log-parameters (so every parameter stays
 * positive), with Nelder–Mead from several starts.
 */
import { hyp2f1, lgamma, logAddExp, minimizeMultiStart } from './numeric';

// Module-local bindings: global lookups are slow inside vm contexts (jest), and this is the hot path.
const { ceil, exp, log, max, min, pow } = Math;
const NEG_INF = -1 / 0;
const POS_INF = 1 / 0;
const abs = (v: number): number => (v < 0 ? -v : v);
/** Bound on |log parameter| in the fits (e^12 ≈ 163,000). */
export const LOG_BOUND = 12;

export interface RfmInput {
  /** Repeat purchase occasions in the calibration window. */
  readonly x: number;
  /** Time of the last purchase occasion since the first (0 when x = 0). */
  readonly tx: number;
  /** Time from the first purchase to the calibration end. */
  readonly T: number;
}

export interface BgNbdParams {
  readonly r: number;
  readonly alpha: number;
  readonly a: number;
  readonly b: number;
}

export interface BgNbdFit extends BgNbdParams {
  readonly logLikelihood: number;
  readonly customers: number;
}

/** Log-likelihood of one customer (equation 6 of FHL 2005, in log space). */
export function bgnbdLogLikelihood(p: BgNbdParams, c: RfmInput): number {
  const { r, alpha, a, b } = p;
  const { x, tx, T } = c;
  const a1 = lgamma(r + x) - lgamma(r) + r * log(alpha);
  const a2 = lgamma(a + b) + lgamma(b + x) - lgamma(b) - lgamma(a + b + x);
  const a3 = -(r + x) * log(alpha + T);
  const a4 = x > 0 ? log(a) - log(b + x - 1) - (r + x) * log(alpha + tx) : NEG_INF;
  return a1 + a2 + logAddExp(a3, a4);
}

/** Identical (x, tx, T) triples collapse to one term with a weight: same likelihood, far fewer terms. */
function group<T>(customers: readonly T[], key: (c: T) => string): { c: T; n: number }[] {
  const m = new Map<string, { c: T; n: number }>();
  for (const c of customers) {
    const k = key(c);
    const g = m.get(k);
    if (g) g.n++;
    else m.set(k, { c, n: 1 });
  }
  return [...m.values()];
}

/** Each value's position among the distinct values (first-seen order): x-only terms are computed once per distinct x. */
function indexDistinct(values: readonly number[]): { index: Int32Array; distinct: number[] } {
  const index = new Int32Array(values.length);
  const distinct: number[] = [];
  const pos = new Map<number, number>();
  values.forEach((v, i) => {
    let k = pos.get(v);
    if (k === undefined) {
      k = distinct.length;
      distinct.push(v);
      pos.set(v, k);
    }
    index[i] = k;
  });
  return { index, distinct };
}

export function fitBgNbd(customers: readonly RfmInput[]): BgNbdFit {
  if (customers.length === 0) throw new RangeError('fitBgNbd needs at least one customer');
  const groups = group(customers, (c) => `${c.x}|${c.tx}|${c.T}`);
  // Struct-of-arrays for the hot loop; the x-only terms (A1 + A2 below) are computed once per distinct x.
  const n = groups.length;
  const xs = new Float64Array(n);
  const txs = new Float64Array(n);
  const Ts = new Float64Array(n);
  const ws = new Float64Array(n);
  groups.forEach((g, i) => {
    xs[i] = g.c.x;
    txs[i] = g.c.tx;
    Ts[i] = g.c.T;
    ws[i] = g.n;
  });
  const { index: xIndex, distinct: distinctX } = indexDistinct(groups.map((g) => g.c.x));
  const xTerm = new Float64Array(distinctX.length);
  const negLL = (v: number[]): number => {
    // Parameters live in [e^-LOG_BOUND, e^LOG_BOUND]: a population without drop-out (b → ∞) or
    // heterogeneity (r, α → ∞) stops at the bound instead of drifting for thousands of steps.
    if (abs(v[0]) > LOG_BOUND || abs(v[1]) > LOG_BOUND || abs(v[2]) > LOG_BOUND || abs(v[3]) > LOG_BOUND) return POS_INF;
    const r = exp(v[0]);
    const alpha = exp(v[1]);
    const a = exp(v[2]);
    const b = exp(v[3]);
    const base = -lgamma(r) + r * log(alpha) + lgamma(a + b) - lgamma(b);
    for (let k = 0; k < distinctX.length; k++) {
      const x = distinctX[k];
      xTerm[k] = base + lgamma(r + x) + lgamma(b + x) - lgamma(a + b + x);
    }
    const logA = log(a);
    let s = 0;
    for (let i = 0; i < n; i++) {
      const x = xs[i];
      const a3 = -(r + x) * log(alpha + Ts[i]);
      let term = a3;
      if (x > 0) {
        const a4 = logA - log(b + x - 1) - (r + x) * log(alpha + txs[i]);
        term = a3 > a4 ? a3 + log(1 + exp(a4 - a3)) : a4 + log(1 + exp(a3 - a4));
      }
      s += ws[i] * (xTerm[xIndex[i]] + term);
    }
    return -s;
  };
  const meanT = customers.reduce((s, c) => s + c.T, 0) / customers.length;
  const starts = [
    [0, log(max(meanT, 1e-3)), 0, 0],
    [log(0.5), log(max(meanT / 4, 1e-3)), log(0.5), log(2)],
    [log(2), 0, log(2), log(5)],
  ];
  const best = minimizeMultiStart(negLL, starts);
  const [r, alpha, a, b] = best.x.map(exp);
  return { r, alpha, a, b, logLikelihood: -best.fx, customers: customers.length };
}

/** P(alive | x, tx, T): probability the customer has not dropped out by T (FHL 2005, eq. 11 footnote). */
export function probabilityAlive(p: BgNbdParams, c: RfmInput): number {
  if (c.x === 0) return 1;
  const logRatio = log(p.a) - log(p.b + c.x - 1) + (p.r + c.x) * (log(p.alpha + c.T) - log(p.alpha + c.tx));
  return 1 / (1 + exp(logRatio));
}

/** E[X(t)] for a customer drawn at random from the population, over t units from their first purchase (eq. 9). */
export function expectedPurchasesUnconditional(p: BgNbdParams, t: number): number {
  const { r, alpha, a, b } = p;
  if (t <= 0) return 0;
  const z = t / (alpha + t);
  return ((a + b - 1) / (a - 1)) * (1 - pow(alpha / (alpha + t), r) * hyp2f1(r, b, a + b - 1, z));
}

/** E[Y(t) | x, tx, T]: expected purchase occasions in (T, T + t] (eq. 10). */
export function expectedPurchases(p: BgNbdParams, c: RfmInput, t: number): number {
  const { r, alpha, a, b } = p;
  const { x, tx, T } = c;
  if (t <= 0) return 0;
  const z = t / (alpha + T + t);
  const lead = (a + b + x - 1) / (a - 1);
  const core = 1 - pow((alpha + T) / (alpha + T + t), r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z);
  const denom = x > 0 ? 1 + (a / (b + x - 1)) * pow((alpha + T) / (alpha + tx), r + x) : 1;
  return (lead * core) / denom;
}

export interface SpendInput {
  /** Repeat purchase occasions (> 0). */
  readonly x: number;
  /** Mean spend of those occasions (major units for fitting; any consistent unit works). */
  readonly m: number;
}

export interface GammaGammaParams {
  readonly p: number;
  readonly q: number;
  readonly v: number;
}

export interface GammaGammaFit extends GammaGammaParams {
  readonly logLikelihood: number;
  readonly customers: number;
}

export function gammaGammaLogLikelihood(g: GammaGammaParams, c: SpendInput): number {
  const { p, q, v } = g;
  const { x, m } = c;
  return lgamma(p * x + q) - lgamma(p * x) - lgamma(q) + q * log(v) + (p * x - 1) * log(m) + p * x * log(x) - (p * x + q) * log(x * m + v);
}

/** Fits p, q, v on customers with x > 0 and m > 0 (others carry no spend information and are skipped). */
export function fitGammaGamma(customers: readonly SpendInput[]): GammaGammaFit {
  const usable = customers.filter((c) => c.x > 0 && c.m > 0);
  if (usable.length === 0) throw new RangeError('fitGammaGamma needs a customer with repeat purchases and positive spend');
  const groups = group(usable, (c) => `${c.x}|${c.m}`);
  // Precomputed per group: x, m, ln m, ln x, weight; the Γ terms depend on x only (once per distinct x).
  const n = groups.length;
  const xs = new Float64Array(n);
  const ms = new Float64Array(n);
  const logM = new Float64Array(n);
  const logX = new Float64Array(n);
  const ws = new Float64Array(n);
  groups.forEach((g, i) => {
    xs[i] = g.c.x;
    ms[i] = g.c.m;
    logM[i] = log(g.c.m);
    logX[i] = log(g.c.x);
    ws[i] = g.n;
  });
  const { index: xIndex, distinct: distinctX } = indexDistinct(groups.map((g) => g.c.x));
  const xTerm = new Float64Array(distinctX.length);
  const negLL = (par: number[]): number => {
    if (abs(par[0]) > LOG_BOUND || abs(par[1]) > LOG_BOUND || abs(par[2]) > LOG_BOUND) return POS_INF;
    const p = exp(par[0]);
    const q = exp(par[1]);
    const v = exp(par[2]);
    const base = -lgamma(q) + q * log(v);
    for (let k = 0; k < distinctX.length; k++) xTerm[k] = base + lgamma(p * distinctX[k] + q) - lgamma(p * distinctX[k]);
    let s = 0;
    for (let i = 0; i < n; i++) {
      const px = p * xs[i];
      s += ws[i] * (xTerm[xIndex[i]] + (px - 1) * logM[i] + px * logX[i] - (px + q) * log(xs[i] * ms[i] + v));
    }
    return -s;
  };
  const meanM = usable.reduce((s, c) => s + c.m, 0) / usable.length;
  const starts = [
    [0, 0, 0],
    [log(2), log(2), log(max(meanM, 1e-3))],
    [log(5), log(3), log(max(meanM / 2, 1e-3))],
  ];
  const best = minimizeMultiStart(negLL, starts);
  const [p, q, v] = best.x.map(exp);
  return { p, q, v, logLikelihood: -best.fx, customers: usable.length };
}

/** E[M | x, m̄]: expected spend per purchase occasion (q > 1 for a finite population mean). */
export function expectedSpend(g: GammaGammaParams, c: SpendInput): number {
  const { p, q, v } = g;
  return (p * (v + c.x * c.m)) / (p * c.x + q - 1);
}

export interface ClvOptions {
  /** Horizon in model units (e.g. 52 weeks). */
  readonly horizon: number;
  /** Length of one model unit in days (1 for day, 7 for week). */
  readonly unitDays: number;
  /** Gross margin share of spend, 0..1. */
  readonly margin: number;
  /** Annual discount rate, e.g. 0.1 for 10 %. */
  readonly annualDiscountRate: number;
}

/**
 * Predicted CLV: Σ over each model unit k = 1..horizon of
 * (E[Y(k)] − E[Y(k−1)]) × expected spend × margin / (1 + d)^(k·unitDays / 365.25),
 * i.e. expected margin from future occasions, discounted at the annual rate to the calibration end.
 */
export function predictedClv(bg: BgNbdParams, spend: number, c: RfmInput, o: ClvOptions): number {
  let total = 0;
  let prev = 0;
  const steps = ceil(o.horizon);
  for (let k = 1; k <= steps; k++) {
    const t = min(k, o.horizon);
    const cur = expectedPurchases(bg, c, t);
    total += ((cur - prev) * spend * o.margin) / pow(1 + o.annualDiscountRate, (t * o.unitDays) / 365.25);
    prev = cur;
  }
  return total;
}

export type ChurnBand = 'low' | 'medium' | 'high';

/** Churn risk = 1 − P(alive): low below 0.3, high from 0.7, medium in between. */
export function churnBand(risk: number): ChurnBand {
  if (risk < 0.3) return 'low';
  if (risk >= 0.7) return 'high';
  return 'medium';
}
