import { bgnbdLogLikelihood, churnBand, expectedPurchases, expectedPurchasesUnconditional, fitBgNbd, predictedClv, probabilityAlive, type RfmInput } from './models';
import { hyp2f1, lgamma, nelderMead } from './numeric';

describe('numeric kit', () => {
  it('lgamma matches known values', () => {
    expect(lgamma(1)).toBeCloseTo(0, 12);
    expect(lgamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(lgamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
    expect(lgamma(0.243)).toBeCloseTo(1.3180435846996699, 12); // scipy.special.gammaln
    expect(lgamma(100.5)).toBeCloseTo(361.43554046777757, 9); // scipy.special.gammaln
  });
  it('hyp2f1 matches closed forms', () => {
    // 2F1(1,1;2;z) = −ln(1−z)/z; 2F1(a,b;b;z) = (1−z)^−a
    expect(hyp2f1(1, 1, 2, 0.5)).toBeCloseTo(-Math.log(0.5) / 0.5, 12);
    expect(hyp2f1(1, 1, 2, 0.95)).toBeCloseTo(-Math.log(0.05) / 0.95, 9);
    expect(hyp2f1(2.3, 1.7, 1.7, 0.3)).toBeCloseTo(Math.pow(0.7, -2.3), 12);
    expect(hyp2f1(1, 1, 2, 0)).toBe(1);
    expect(() => hyp2f1(1, 1, 2, 1)).toThrow(RangeError);
  });
  it('Nelder–Mead finds the minimum of the Rosenbrock function', () => {
    const r = nelderMead(([x, y]) => (1 - x) ** 2 + 100 * (y - x * x) ** 2, [-1.2, 1], { maxIter: 20000 });
    expect(r.x[0]).toBeCloseTo(1, 4);
    expect(r.x[1]).toBeCloseTo(1, 4);
  });
});

describe('BG/NBD formulas, hand-computed', () => {
  const p = { r: 0.25, alpha: 4, a: 0.8, b: 2.5 };
  it('x = 0: likelihood is (α/(α+T))^r, P(alive) = 1', () => {
    const c = { x: 0, tx: 0, T: 10 };
    expect(bgnbdLogLikelihood(p, c)).toBeCloseTo(0.25 * Math.log(4 / 14), 12);
    expect(probabilityAlive(p, c)).toBe(1);
  });
  it('x = 1: P(alive) = 1 / (1 + a/b · ((α+T)/(α+tx))^(r+1))', () => {
    const c = { x: 1, tx: 2, T: 10 };
    expect(probabilityAlive(p, c)).toBeCloseTo(1 / (1 + (0.8 / 2.5) * Math.pow(14 / 6, 1.25)), 12);
  });
  it('a new customer (x = 0, T = 0) expects what the population expects', () => {
    expect(expectedPurchases(p, { x: 0, tx: 0, T: 0 }, 20)).toBeCloseTo(expectedPurchasesUnconditional(p, 20), 10);
    expect(expectedPurchasesUnconditional(p, 0)).toBe(0);
  });
  it('CLV: no discount and margin 1 is expected purchases × spend; discounting lowers it', () => {
    const c = { x: 3, tx: 20, T: 30 };
    const opts = { horizon: 52, unitDays: 7, margin: 1, annualDiscountRate: 0 };
    expect(predictedClv(p, 50, c, opts)).toBeCloseTo(expectedPurchases(p, c, 52) * 50, 9);
    expect(predictedClv(p, 50, c, { ...opts, margin: 0.3 })).toBeCloseTo(expectedPurchases(p, c, 52) * 15, 9);
    expect(predictedClv(p, 50, c, { ...opts, annualDiscountRate: 0.1 })).toBeLessThan(expectedPurchases(p, c, 52) * 50);
  });
  it('churn bands', () => {
    expect(churnBand(0)).toBe('low');
    expect(churnBand(0.29)).toBe('low');
    expect(churnBand(0.3)).toBe('medium');
    expect(churnBand(0.69)).toBe('medium');
    expect(churnBand(0.7)).toBe('high');
  });
});

/** Seeded PRNG (mulberry32) and samplers, so the simulation is reproducible. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function normal(u: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}
/** Marsaglia–Tsang Gamma(shape, 1). */
function gamma(u: () => number, shape: number): number {
  if (shape < 1) return gamma(u, shape + 1) * Math.pow(u(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = normal(u);
    const v = (1 + c * x) ** 3;
    if (v > 0 && Math.log(u()) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

describe('BG/NBD fit recovers the parameters customers were simulated from', () => {
  it('r, α, a, b within tolerance (4,000 customers, seeded)', () => {
    const truth = { r: 0.25, alpha: 4, a: 0.8, b: 2.5 };
    const u = rng(42);
    const customers: RfmInput[] = [];
    for (let i = 0; i < 4000; i++) {
      const lambda = gamma(u, truth.r) / truth.alpha;
      const g1 = gamma(u, truth.a);
      const dropout = g1 / (g1 + gamma(u, truth.b));
      const T = Math.round(7 * (26 + 13 * u())) / 7; // first purchases spread over a quarter; whole days, in weeks
      let t = 0;
      let x = 0;
      let tx = 0;
      for (;;) {
        t += -Math.log(1 - u()) / lambda;
        if (t > T) break;
        x++;
        tx = Math.min(T, Math.round(7 * t) / 7);
        if (u() < dropout) break; // may drop out right after each repeat purchase

      }
      customers.push({ x, tx, T });
    }
    const fit = fitBgNbd(customers);
    expect(Math.abs(fit.r - truth.r) / truth.r).toBeLessThan(0.15);
    expect(Math.abs(fit.alpha - truth.alpha) / truth.alpha).toBeLessThan(0.25);
    expect(Math.abs(fit.a - truth.a) / truth.a).toBeLessThan(0.3);
    expect(Math.abs(fit.b - truth.b) / truth.b).toBeLessThan(0.3);
    // The fitted likelihood is at least as high as the truth's (it is the maximum).
    const llTruth = customers.reduce((s, c) => s + bgnbdLogLikelihood(truth, c), 0);
    expect(fit.logLikelihood).toBeGreaterThanOrEqual(llTruth - 1e-6);
  });
});
