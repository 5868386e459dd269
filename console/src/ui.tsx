import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { ApiError, getJson } from './api';
import { formatCount, formatLag } from './format';
import type { ProjectionStatus } from './types';

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` on mount and whenever `deps` change; the last call wins. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => mine === seq.current && setState({ data, loading: false }),
      (error) => mine === seq.current && setState({ error, loading: false }),
    );
  }, [...deps, tick]);
  return { data: state.data, error: state.error, loading: state.loading, reload: () => setTick((t) => t + 1) };
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof ApiError ? `${error.message}${error.fields.length ? ` (${error.fields.map((f) => `${f.field}: ${f.message}`).join('; ')})` : ''}` : String(error);
  return (
    <p class="error" role="alert" data-testid="error">
      {message}
    </p>
  );
}

export function Loading({ when }: { when: boolean }) {
  return when ? (
    <p class="loading" aria-live="polite">
      Loading…
    </p>
  ) : null;
}

/**
 * How fresh the page's numbers are: the log position each projection it reads has reached and how
 * far it is behind the log, read when the page's data was.
 */
export function Freshness({ projections, stamp }: { projections: string[]; stamp: unknown }) {
  const { data, error } = useLoad(() => getJson<{ projections: ProjectionStatus[] }>('/v1/projections'), [stamp]);
  if (error) return <ErrorBox error={error} />;
  const rows = (data?.projections ?? []).filter((p) => projections.includes(p.name));
  return (
    <p class="freshness" data-testid="freshness" aria-live="polite">
      {rows.length === 0
        ? 'Freshness: reading…'
        : rows.map((p) => (
            <span key={p.name} class={`fresh ${p.lag.events === 0 ? 'ok' : 'behind'}`} data-projection={p.name} data-position={p.checkpoint ?? ''} data-lag={p.lag.events}>
              {p.name}: log position {p.checkpoint === null ? 'none yet' : formatCount(Number(p.checkpoint))}, {formatLag(p.lag)}
            </span>
          ))}
    </p>
  );
}

/** A small trend line (uPlot), no axes: the shape of a figure over the window's parts. */
export function Sparkline({ values, label }: { values: (number | null)[]; label: string }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current || values.length < 2) return;
    const xs = values.map((_, i) => i);
    const plot = new uPlot(
      {
        width: 140,
        height: 36,
        legend: { show: false },
        cursor: { show: false },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
        scales: { x: { time: false } },
        axes: [{ show: false }, { show: false }],
        series: [{}, { stroke: '#1f6feb', width: 1.5, spanGaps: true, points: { show: false } }],
      },
      [xs, values.map((v) => (v === null ? null : v))] as uPlot.AlignedData,
      el.current,
    );
    return () => plot.destroy();
  }, [JSON.stringify(values)]);
  return <div class="spark" ref={el} role="img" aria-label={`${label}: trend over the window`} data-points={values.length} />;
}

/** A bar chart (uPlot bars) of labelled counts, e.g. a distribution. */
export function Bars({ labels, values, label, height = 160, slot = 60 }: { labels: string[]; values: number[]; label: string; height?: number; slot?: number }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current || values.length === 0) return;
    const xs = values.map((_, i) => i);
    const plot = new uPlot(
      {
        width: Math.max(240, labels.length * slot + 70),
        height,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: false, range: [-0.5, values.length - 0.5] }, y: { range: (_u, _min, max) => [0, max || 1] } },
        axes: [{ values: (_u, ticks) => ticks.map((t) => labels[t] ?? ''), splits: () => xs }, { size: 70 }],
        series: [{}, { fill: 'rgba(31,111,235,0.6)', stroke: '#1f6feb', paths: uPlot.paths.bars!({ size: [0.7, 60] }), points: { show: false } }],
      },
      [xs, values] as uPlot.AlignedData,
      el.current,
    );
    return () => plot.destroy();
  }, [JSON.stringify(labels), JSON.stringify(values)]);
  return <div class="bars" ref={el} role="img" aria-label={label} />;
}

/** A line chart (uPlot) of labelled points: one or more series over the same labels (periods). */
export function Lines({ labels, series, label, height = 180 }: { labels: string[]; series: { name: string; values: (number | null)[]; color: string; bars?: boolean }[]; label: string; height?: number }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current || labels.length === 0) return;
    const xs = labels.map((_, i) => i);
    const every = Math.max(1, Math.ceil(labels.length / 8));
    const plot = new uPlot(
      {
        width: Math.min(900, Math.max(320, labels.length * 24 + 90)),
        height,
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: false, range: [-0.5, Math.max(0.5, labels.length - 0.5)] }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max : 1] } },
        axes: [{ values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) && t % every === 0 ? (labels[t] ?? '') : '')), splits: () => xs }, { size: 60 }],
        series: [
          { label: 'period', value: (_u, i) => (i === null ? '' : (labels[i] ?? '')) },
          ...series.map((s) =>
            s.bars
              ? { label: s.name, fill: s.color, stroke: s.color, paths: uPlot.paths.bars!({ size: [0.35, 24], align: s.name === series.filter((x) => x.bars)[0]?.name ? -1 : 1 }), points: { show: false } }
              : { label: s.name, stroke: s.color, width: 2, points: { show: labels.length < 40 } },
          ),
        ],
      },
      [xs, ...series.map((s) => s.values)] as uPlot.AlignedData,
      el.current,
    );
    return () => plot.destroy();
  }, [JSON.stringify(labels), JSON.stringify(series)]);
  return <div class="lines" ref={el} role="img" aria-label={label} data-points={labels.length} />;
}

export function Section({ title, children, testid }: { title: string; children: ComponentChildren; testid?: string }) {
  return (
    <section class="card" data-testid={testid} aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

/** Previous/next over keyset pages: `cursors` is the stack of page cursors (the first is the first page's). */
export function Pager({ cursors, setCursors, next, children }: { cursors: (string | undefined)[]; setCursors: (c: (string | undefined)[]) => void; next: string | null; children?: ComponentChildren }) {
  return (
    <div class="pager">
      <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
        Previous page
      </button>
      <button type="button" disabled={next === null} onClick={() => setCursors([...cursors, next!])}>
        Next page
      </button>
      {children}
    </div>
  );
}
