/**
 * Small numerical kit for the customer-value models: log-gamma, the Gaussian hypergeometric
 * function 2F1 and a Nelder–Mead simplex minimiser. Pure, dependency-free.
 */

// Module-local bindings: global lookups are slow inside vm contexts (jest), and this is the hot path.
const { PI, abs, exp, log, max, sin } = Math;
const NEG_INF = -1 / 0;
const POS_INF = 1 / 0;
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9: ~15 significant digits). */
export function lgamma(x: number): number {
  if (x < 0.5) return log(PI / abs(sin(PI * x))) - lgamma(1 - x);
  const z = x - 1;
  let s = LANCZOS[0];
  for (let i = 1; i < LANCZOS_G + 2; i++) s += LANCZOS[i] / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return 0.5 * log(2 * PI) + (z + 0.5) * log(t) - t + log(s);
}

/** log(e^a + e^b) without overflow; -Infinity is the neutral element. */
export function logAddExp(a: number, b: number): number {
  if (a === NEG_INF) return b;
  if (b === NEG_INF) return a;
  const m = max(a, b);
  return m + log(exp(a - m) + exp(b - m));
}

/**
 * Gaussian hypergeometric 2F1(a, b; c; z) for 0 ≤ z < 1 by its power series, summed until the
 * terms stop mattering (relative 1e-15). Converges for every z < 1; slowly as z → 1, which the
 * models here do not reach (z = t / (α + T + t) with horizons of the order of the observed span).
 */
export function hyp2f1(a: number, b: number, c: number, z: number): number {
  if (!(z >= 0 && z < 1)) throw new RangeError(`hyp2f1: z must be in [0, 1), got ${z}`);
  return series(a, b, c, z);
}

function series(a: number, b: number, c: number, z: number): number {
  let term = 1;
  let sum = 1;
  for (let n = 0; n < 1_000_000; n++) {
    term *= ((a + n) * (b + n)) / ((c + n) * (n + 1)) * z;
    sum += term;
    if (abs(term) <= 1e-15 * abs(sum)) return sum;
  }
  return sum;
}

export interface MinimizeResult {
  readonly x: number[];
  readonly fx: number;
  readonly iterations: number;
}

/**
 * Nelder–Mead downhill simplex (standard coefficients: reflection 1, expansion 2, contraction ½,
 * shrink ½). Stops when the simplex's function values and extent are both within tolerance.
 */
export function nelderMead(f: (x: number[]) => number, start: readonly number[], opts: { step?: number; tol?: number; xtol?: number; maxIter?: number } = {}): MinimizeResult {
  const n = start.length;
  const step = opts.step ?? 0.5;
  const tol = opts.tol ?? 1e-10;
  const xtol = opts.xtol ?? 1e-7;
  const maxIter = opts.maxIter ?? 5000;
  const value = (x: number[]): number => {
    const v = f(x);
    return v === v && v !== NEG_INF && v !== POS_INF ? v : POS_INF;
  };
  let simplex: { x: number[]; fx: number }[] = [{ x: [...start], fx: value([...start]) }];
  for (let i = 0; i < n; i++) {
    const x = [...start];
    x[i] += step;
    simplex.push({ x, fx: value(x) });
  }
  let it = 0;
  for (; it < maxIter; it++) {
    simplex.sort((p, q) => p.fx - q.fx);
    const best = simplex[0];
    const worst = simplex[n];
    let spread = 0;
    for (const p of simplex) for (let i = 0; i < n; i++) spread = max(spread, abs(p.x[i] - best.x[i]));
    if (abs(worst.fx - best.fx) <= tol * (abs(best.fx) + tol) && spread <= xtol) break;
    const centroid = new Array<number>(n).fill(0);
    for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) centroid[i] += simplex[j].x[i] / n;
    const at = (t: number): number[] => centroid.map((c, i) => c + t * (worst.x[i] - c));
    const xr = at(-1);
    const fr = value(xr);
    if (fr < best.fx) {
      const xe = at(-2);
      const fe = value(xe);
      simplex[n] = fe < fr ? { x: xe, fx: fe } : { x: xr, fx: fr };
    } else if (fr < simplex[n - 1].fx) {
      simplex[n] = { x: xr, fx: fr };
    } else {
      const outside = fr < worst.fx;
      const xc = at(outside ? -0.5 : 0.5);
      const fc = value(xc);
      if (fc < (outside ? fr : worst.fx)) {
        simplex[n] = { x: xc, fx: fc };
      } else {
        simplex = simplex.map((p, j) => (j === 0 ? p : { x: p.x.map((v, i) => best.x[i] + 0.5 * (v - best.x[i])), fx: 0 }));
        for (let j = 1; j <= n; j++) simplex[j].fx = value(simplex[j].x);
      }
    }
  }
  simplex.sort((p, q) => p.fx - q.fx);
  return { x: simplex[0].x, fx: simplex[0].fx, iterations: it };
}

/**
 * Runs Nelder–Mead from each start to a coarse tolerance, then polishes the best of them to the
 * full tolerance (restarting the simplex once more from that optimum guards against a collapsed simplex).
 */
export function minimizeMultiStart(f: (x: number[]) => number, starts: readonly (readonly number[])[]): MinimizeResult {
  let best: MinimizeResult | undefined;
  for (const s of starts) {
    const r = nelderMead(f, s, { tol: 1e-7, xtol: 1e-3 });
    if (best === undefined || r.fx < best.fx) best = r;
  }
  if (best === undefined) throw new RangeError('minimizeMultiStart needs at least one start');
  const polished = nelderMead(f, best.x, { step: 0.1 });
  const again = nelderMead(f, polished.x, { step: 0.02 });
  return again.fx <= polished.fx ? again : polished;
}
