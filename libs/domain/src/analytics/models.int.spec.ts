/**
 * Validation of the fitters on the real CDNOW data (/work/shared/data/cdnow). The published
 * estimates of Fader, Hardie & Lee (2005) — r = 0.243, α = 4.414, a = 0.793, b = 2.426,
 * LL = −9582.4 — are for the 2,357-customer 1/10 sample (CDNOW_sample.txt), weeks, calibration
 * to 1997-09-30, frequency = repeat purchase days. The master file (23,570 customers) is fitted in
 * docs/examples/cdnow.md (`cairn clv fit --file …`); it takes a few seconds, kept out of the specs.
 */
import { readFileSync } from 'fs';
import { parseCdnow } from './cdnow';
import { expectedPurchases, expectedSpend, fitBgNbd, fitGammaGamma, probabilityAlive } from './models';
import { isoToDay } from './periods';
import { summarizeCustomers } from './summary';

const FILE = '/work/shared/data/cdnow/CDNOW_sample.txt';

describe('BG/NBD and Gamma-Gamma on the CDNOW sample', () => {
  const { rows, errors } = parseCdnow(readFileSync(FILE, 'utf8'));
  const customers = summarizeCustomers(
    rows.map((r) => ({ customerId: r.customerId, day: isoToDay(r.date)!, totalMinor: r.totalMinor })),
    isoToDay('1997-09-30')!,
    7,
  );

  it('parses every row and customer', () => {
    expect(errors).toEqual([]);
    expect(rows).toHaveLength(6_919);
    expect(customers).toHaveLength(2_357);
    // FHL's summary file: customer 1 of the sample (id 00004) has x = 2, tx = 30.43, T = 38.86.
    const first = customers.find((c) => c.customerId === '00004')!;
    expect(first.x).toBe(2);
    expect(first.tx).toBeCloseTo(213 / 7, 10);
    expect(first.T).toBeCloseTo(272 / 7, 10);
    expect(first.monetaryMinor).toBe(2234.5);
  });

  it('reproduces the published BG/NBD estimates', () => {
    const fit = fitBgNbd(customers);
    expect(fit.r).toBeCloseTo(0.243, 3);
    expect(fit.alpha).toBeCloseTo(4.414, 2);
    expect(fit.a).toBeCloseTo(0.793, 3);
    expect(fit.b).toBeCloseTo(2.426, 2);
    expect(fit.logLikelihood).toBeCloseTo(-9582.4, 1);
    // FHL's worked example (their customer 1: x = 2, tx = 30.43, T = 38.86): 1.226 expected
    // purchases in the next 39 weeks. P(alive) by hand: 1 / (1 + a/(b+1) · ((α+T)/(α+tx))^(r+2))
    // = 1 / (1 + 0.23147 · 1.6258) = 0.7266.
    const ex = customers.find((c) => c.customerId === '00004')!;
    expect(probabilityAlive(fit, ex)).toBeCloseTo(0.7266, 3);
    expect(expectedPurchases(fit, ex, 39)).toBeCloseTo(1.226, 2);
  });

  it('fits Gamma-Gamma on the mean spend of repeat purchase days (lifetimes: p 6.25, q 3.74, v 15.45)', () => {
    const gg = fitGammaGamma(customers.map((s) => ({ x: s.x, m: s.monetaryMinor / 100 })));
    expect(gg.customers).toBe(946);
    expect(gg.p).toBeCloseTo(6.25, 2);
    expect(gg.q).toBeCloseTo(3.74, 2);
    expect(gg.v).toBeCloseTo(15.44, 1);
    // Expected spend is pulled from the customer's own mean towards the population mean.
    const population = (gg.p * gg.v) / (gg.q - 1);
    const e = expectedSpend(gg, { x: 1, m: 100 });
    expect(e).toBeLessThan(100);
    expect(e).toBeGreaterThan(population);
  });
});
