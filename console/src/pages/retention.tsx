import { useState } from 'preact/hooks';
import { download, getCsv, getJson, qs } from '../api';
import { formatCount, formatPercent } from '../format';
import { heatColor, heatMax, heatText } from '../grid';
import type { RetentionGrid } from '../types';
import { ErrorBox, Freshness, Loading, useLoad } from '../ui';

type Params = { period: string; cohort: string; mode: string; returning: string; asOf: string };

const CHOICES: { key: keyof Params; label: string; options: [string, string][] }[] = [
  { key: 'cohort', label: 'Cohorts', options: [['first', 'First-time buyers'], ['recurring', 'Recurring (active in the period)']] },
  { key: 'mode', label: 'Counting', options: [['bounded', 'Bounded (came back in that period)'], ['unbounded', 'Unbounded (in that period or later)']] },
  { key: 'period', label: 'Period', options: [['month', 'Month'], ['week', 'Week']] },
  { key: 'returning', label: 'Coming back means', options: [['purchase', 'a purchase'], ['activity', 'any activity']] },
];

export function Retention() {
  const [p, setP] = useState<Params>({ period: 'month', cohort: 'first', mode: 'bounded', returning: 'purchase', asOf: '' });
  const query = qs({ ...p, shape: 'grid' });
  const { data, error, loading } = useLoad(() => getJson<RetentionGrid>(`/v1/metrics/retention${query}`), [query]);
  const [csvError, setCsvError] = useState<unknown>(null);
  const max = data ? heatMax(data.cohorts.map((c) => c.rates)) : 1;
  const exportCsv = async () => {
    setCsvError(null);
    try {
      download(`retention-${p.cohort}-${p.mode}-${p.period}-${data?.asOf ?? 'today'}.csv`, await getCsv(`/v1/metrics/retention${query}`));
    } catch (e) {
      setCsvError(e);
    }
  };
  return (
    <div>
      <h1>Retention</h1>
      <form class="controls" onSubmit={(e) => e.preventDefault()}>
        {CHOICES.map((c) => (
          <label key={c.key}>
            {c.label}
            <select value={p[c.key]} onChange={(e) => setP({ ...p, [c.key]: (e.target as HTMLSelectElement).value })} data-testid={`retention-${c.key}`}>
              {c.options.map(([v, text]) => (
                <option value={v} key={v}>
                  {text}
                </option>
              ))}
            </select>
          </label>
        ))}
        <label>
          As of
          <input type="date" value={p.asOf} onChange={(e) => setP({ ...p, asOf: (e.target as HTMLInputElement).value })} data-testid="retention-asof" />
        </label>
        <button type="button" onClick={exportCsv} disabled={!data} data-testid="retention-csv">
          Download CSV of this grid
        </button>
      </form>
      <Freshness projections={['analytics']} stamp={data} />
      <ErrorBox error={error ?? csvError} />
      <Loading when={loading} />
      {data && data.cohorts.length === 0 && <p>No cohorts up to {data.asOf}.</p>}
      {data && data.cohorts.length > 0 && (
        <>
          <p class="note">
            Share of each {data.period}'s cohort coming back k {data.period}s later, as of {data.asOf} ({data.timezone}). Hatched cells cannot be observed yet. Hover a cell for its count.
          </p>
          <div class="scroll">
            <table class="heatmap" data-testid="retention-grid">
              <thead>
                <tr>
                  <th scope="col">Cohort</th>
                  <th scope="col">Customers</th>
                  {data.periods.map((k) => (
                    <th scope="col" key={k}>
                      {k}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {data.cohorts.map((c) => (
                  <tr key={c.cohort}>
                    <th scope="row">{c.cohort}</th>
                    <td class="num">{formatCount(c.size)}</td>
                    {c.rates.map((rate, k) => {
                      const bg = heatColor(rate, max);
                      const title = rate === null ? `${c.cohort}, ${data.period} ${k}: not observable yet` : `${c.cohort}, ${data.period} ${k}: ${formatCount(c.counts[k])} of ${formatCount(c.size)} (${formatPercent(rate)})`;
                      return (
                        <td key={k} class={rate === null ? 'cell unobservable' : 'cell'} style={bg ? { background: bg, color: heatText(rate, max) } : undefined} title={title} aria-label={title} data-count={c.counts[k] ?? ''}>
                          {rate === null ? '' : formatPercent(rate)}
                        </td>
                      );
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </div>
  );
}
