import { useState } from 'preact/hooks';
import { getJson, qs } from '../api';
import { addDays, formatChange, previousWindow, splitWindow } from '../format';
import { OVERVIEW_KPIS } from '../kpis';
import type { Kpis } from '../types';
import { ErrorBox, Freshness, Loading, Sparkline, useLoad } from '../ui';

const TREND_PARTS = 8;

function todayUtc(): string {
  return new Date().toISOString().slice(0, 10);
}

export function Overview() {
  const [to, setTo] = useState(todayUtc());
  const [days, setDays] = useState(90);
  const from = addDays(to, -(days - 1));
  const lifecyclePeriod = days > 120 ? 'month' : 'week';
  const kpis = (w: { from: string; to: string }) => getJson<Kpis>(`/v1/metrics/kpis${qs({ ...w, period: lifecyclePeriod })}`);
  const { data, error, loading } = useLoad(
    async () => {
      const [current, previous, ...parts] = await Promise.all([kpis({ from, to }), kpis(previousWindow(from, to)), ...splitWindow(from, to, TREND_PARTS).map(kpis)]);
      return { current, previous, parts };
    },
    [from, to],
  );
  return (
    <div>
      <h1>Overview</h1>
      <form class="controls" onSubmit={(e) => e.preventDefault()}>
        <label>
          Window ending
          <input type="date" value={to} onChange={(e) => setTo((e.target as HTMLInputElement).value || todayUtc())} data-testid="overview-to" />
        </label>
        <label>
          Length
          <select value={String(days)} onChange={(e) => setDays(Number((e.target as HTMLSelectElement).value))} data-testid="overview-days">
            <option value="30">30 days</option>
            <option value="90">90 days</option>
            <option value="365">365 days</option>
          </select>
        </label>
      </form>
      <Freshness projections={['analytics']} stamp={data} />
      <ErrorBox error={error} />
      <Loading when={loading} />
      {data && (
        <>
          <p class="note">
            {data.current.from} to {data.current.to} against {data.previous.from} to {data.previous.to}; trend lines over {data.parts.length} parts of the window; churn is the last {lifecyclePeriod}'s.
          </p>
          <div class="kpis" data-testid="kpis">
            {OVERVIEW_KPIS.map((m) => {
              const now = m.value(data.current);
              const before = m.value(data.previous);
              const change = formatChange(now, before);
              return (
                <div class="kpi" key={m.key} data-testid={`kpi-${m.key}`}>
                  <div class="kpi-label">{m.label}</div>
                  <div class="kpi-value">{m.show(now, data.current)}</div>
                  <div class={`kpi-change ${change.direction}${m.lowerIsBetter ? ' lower-is-better' : ''}`} title={`previous period: ${m.show(before, data.previous)}`}>
                    <span class="kpi-change-text">{change.text}</span> <span class="muted">vs {m.show(before, data.previous)}</span>
                  </div>
                  <Sparkline values={data.parts.map((p) => m.value(p))} label={m.label} />
                </div>
              );
            })}
          </div>
        </>
      )}
    </div>
  );
}
