import { useState } from 'preact/hooks';
import { getCsv, getJson, qs } from '../api';
import { parse } from 'csv-parse/browser/esm/sync';
import { topByValue, valueRows } from '../clv';
import { formatCount, formatDecimal, formatMoney, formatMoneyCompact, formatPercent } from '../format';
import { histogram } from '../grid';
import { Bars, ErrorBox, Freshness, Loading, Section, useLoad } from '../ui';

interface ClvAnswer {
  customers: number;
  calibrationEnd: string;
  unit: string;
  horizon: number;
  currency: string;
  bgnbd: { r: number; alpha: number; a: number; b: number; logLikelihood: number };
  gammaGamma: { p: number; q: number; v: number; logLikelihood: number; customers: number } | null;
  totals: { expectedPurchases: number; predictedClvMinor: number };
  churnBands: { low: number; medium: number; high: number };
  frequencyDistribution: Record<string, number>;
}

export function Value() {
  const [p, setP] = useState({ calibrationEnd: '', unit: 'week', horizon: '' });
  const query = qs(p);
  const { data, error, loading } = useLoad(async () => {
    const [fit, csv] = await Promise.all([getJson<ClvAnswer>(`/v1/metrics/clv${query}`), getCsv(`/v1/metrics/clv${query}`)]);
    return { fit, rows: valueRows(parse(csv, { columns: true, skip_empty_lines: true }) as Record<string, string>[]) };
  }, [query]);
  const fit = data?.fit;
  const values = data ? data.rows.map((r) => r.predictedClvMinor).filter((v): v is number => v !== null) : [];
  const sorted = values.slice().sort((a, b) => a - b);
  const p95 = sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))] : 1;
  const clvBins = fit ? histogram(sorted.filter((v) => v <= p95), 10, (v) => formatMoneyCompact(v, fit.currency), { min: 0, max: Math.max(1, p95) }) : [];
  const aliveBins = data ? histogram(data.rows.map((r) => r.pAlive), 10, (v) => formatPercent(v, 0), { min: 0, max: 1 }) : [];
  return (
    <div>
      <h1>Customer value</h1>
      <form class="controls" onSubmit={(e) => e.preventDefault()}>
        <label>
          Calibration end
          <input type="date" value={p.calibrationEnd} onChange={(e) => setP({ ...p, calibrationEnd: (e.target as HTMLInputElement).value })} data-testid="value-calibration" />
        </label>
        <label>
          Unit
          <select value={p.unit} onChange={(e) => setP({ ...p, unit: (e.target as HTMLSelectElement).value })}>
            <option value="week">Week</option>
            <option value="day">Day</option>
          </select>
        </label>
        <label>
          Horizon (units)
          <input type="number" min={0} value={p.horizon} placeholder="52 weeks / 365 days" onChange={(e) => setP({ ...p, horizon: (e.target as HTMLInputElement).value })} />
        </label>
      </form>
      <Freshness projections={['analytics']} stamp={data} />
      <ErrorBox error={error} />
      <Loading when={loading} />
      {fit && data && (
        <>
          <p class="note">
            BG/NBD and Gamma-Gamma fitted on {formatCount(fit.customers)} customers up to {fit.calibrationEnd}; predictions over {fit.horizon} {fit.unit}s.
          </p>
          <div class="columns">
            <Section title="The fit" testid="value-fit">
              <table class="table">
                <tbody>
                  {(['r', 'alpha', 'a', 'b'] as const).map((k) => (
                    <tr key={k}>
                      <th scope="row">BG/NBD {k}</th>
                      <td class="num" data-param={`bgnbd.${k}`}>
                        {formatDecimal(fit.bgnbd[k], 4)}
                      </td>
                    </tr>
                  ))}
                  <tr>
                    <th scope="row">BG/NBD log-likelihood</th>
                    <td class="num" data-param="bgnbd.logLikelihood">
                      {formatDecimal(fit.bgnbd.logLikelihood, 1)}
                    </td>
                  </tr>
                  {fit.gammaGamma &&
                    (['p', 'q', 'v'] as const).map((k) => (
                      <tr key={k}>
                        <th scope="row">Gamma-Gamma {k}</th>
                        <td class="num" data-param={`gammaGamma.${k}`}>
                          {formatDecimal(fit.gammaGamma![k], 4)}
                        </td>
                      </tr>
                    ))}
                  {fit.gammaGamma && (
                    <tr>
                      <th scope="row">Gamma-Gamma log-likelihood ({formatCount(fit.gammaGamma.customers)} repeat customers)</th>
                      <td class="num" data-param="gammaGamma.logLikelihood">
                        {formatDecimal(fit.gammaGamma.logLikelihood, 1)}
                      </td>
                    </tr>
                  )}
                  <tr>
                    <th scope="row">Expected purchases</th>
                    <td class="num">{formatDecimal(fit.totals.expectedPurchases, 0)}</td>
                  </tr>
                  <tr>
                    <th scope="row">Predicted value, all customers</th>
                    <td class="num" data-param="totals.predictedClvMinor">
                      {formatMoney(fit.totals.predictedClvMinor, fit.currency)}
                    </td>
                  </tr>
                </tbody>
              </table>
            </Section>
            <Section title="Churn bands" testid="value-bands">
              <table class="table">
                <tbody>
                  {(['low', 'medium', 'high'] as const).map((b) => (
                    <tr key={b}>
                      <th scope="row">{b} risk</th>
                      <td class="num" data-band={b}>
                        {formatCount(fit.churnBands[b])}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Bars labels={['low', 'medium', 'high']} values={[fit.churnBands.low, fit.churnBands.medium, fit.churnBands.high]} label="customers per churn band" height={120} />
            </Section>
          </div>
          <div class="columns">
            <Section title="P(alive) distribution" testid="value-palive">
              <Bars labels={aliveBins.map((b) => b.label)} values={aliveBins.map((b) => b.count)} label="customers per P(alive) decile" />
            </Section>
            <Section title="Predicted value distribution (up to the 95th percentile)" testid="value-clv">
              <Bars labels={clvBins.map((b) => b.label)} values={clvBins.map((b) => b.count)} label="customers per predicted value bin" />
            </Section>
          </div>
          <Section title="Top customers by predicted value" testid="value-top">
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">Customer</th>
                  <th scope="col">Repeat purchases</th>
                  <th scope="col">P(alive)</th>
                  <th scope="col">Churn band</th>
                  <th scope="col">Expected purchases</th>
                  <th scope="col">Predicted value</th>
                </tr>
              </thead>
              <tbody>
                {topByValue(data.rows, 20).map((r) => (
                  <tr key={r.customerId}>
                    <td>
                      <a href={`#/customer/${encodeURIComponent(r.customerId)}`}>{r.customerId}</a>
                    </td>
                    <td class="num">{formatCount(r.frequency)}</td>
                    <td class="num">{formatPercent(r.pAlive)}</td>
                    <td>{r.churnBand}</td>
                    <td class="num">{formatDecimal(r.expectedPurchases)}</td>
                    <td class="num">{formatMoney(r.predictedClvMinor, fit.currency)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
        </>
      )}
    </div>
  );
}
