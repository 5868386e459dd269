import { useState } from 'preact/hooks';
import { download, getCsv, getJson, qs, shopCurrency } from '../api';
import { formatCount, formatInstant, formatMoney } from '../format';
import { rfmRows, SEGMENT_HUES } from '../grid';
import type { Page, Rfm as RfmAnswer } from '../types';
import { ErrorBox, Freshness, Loading, Pager, Section, useLoad } from '../ui';

interface RfmMember {
  customerId: string;
  r: number;
  f: number;
  m: number;
  recencyDays: number;
  orders: number;
  netMinor: number;
}

function Members({ segment, label, runId }: { segment: string; label: string; runId: string }) {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const { data, error, loading } = useLoad(async () => {
    const [page, currency] = await Promise.all([getJson<Page<RfmMember>>(`/v1/rfm/${segment}/customers${qs({ runId, cursor, limit: 25 })}`), shopCurrency()]);
    return { ...page, currency };
  }, [segment, runId, cursor]);
  return (
    <Section title={`${label}: members`} testid="rfm-members">
      <ErrorBox error={error} />
      <Loading when={loading} />
      {data && (
        <>
          <table class="table">
            <thead>
              <tr>
                <th scope="col">Customer</th>
                <th scope="col">R</th>
                <th scope="col">F</th>
                <th scope="col">M</th>
                <th scope="col">Days since last order</th>
                <th scope="col">Orders</th>
                <th scope="col">Net</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((m) => (
                <tr key={m.customerId}>
                  <td>
                    <a href={`#/customer/${encodeURIComponent(m.customerId)}`}>{m.customerId}</a>
                  </td>
                  <td class="num">{m.r}</td>
                  <td class="num">{m.f}</td>
                  <td class="num">{m.m}</td>
                  <td class="num">{formatCount(m.recencyDays)}</td>
                  <td class="num">{formatCount(m.orders)}</td>
                  <td class="num">{formatMoney(m.netMinor, data.currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager cursors={cursors} setCursors={setCursors} next={data.nextCursor} />
        </>
      )}
    </Section>
  );
}

export function Rfm() {
  const { data, error, loading } = useLoad(() => getJson<RfmAnswer>('/v1/rfm'), []);
  const [open, setOpen] = useState<{ segment: string; label: string } | null>(null);
  const [csvError, setCsvError] = useState<unknown>(null);
  const exportCsv = async () => {
    setCsvError(null);
    try {
      download(`rfm-${data!.run.runId}.csv`, await getCsv(`/v1/rfm${qs({ runId: data!.run.runId })}`));
    } catch (e) {
      setCsvError(e);
    }
  };
  return (
    <div>
      <h1>RFM</h1>
      <Freshness projections={['profiles']} stamp={data} />
      <ErrorBox error={error ?? csvError} />
      <Loading when={loading} />
      {data && (
        <>
          <p class="note">
            Run {data.run.runId.slice(0, 8)} as of {formatInstant(data.run.asOf)} over {data.run.windowDays} days: {formatCount(data.run.customers)} customers scored. Rows are recency (R5 most recent), columns frequency.
            Choose a cell for its segment's members.
          </p>
          <div class="rfm-wrap">
            <table class="rfm" data-testid="rfm-grid">
              <thead>
                <tr>
                  <th scope="col">R \ F</th>
                  {[1, 2, 3, 4, 5].map((f) => (
                    <th scope="col" key={f}>
                      F{f}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {rfmRows(data.grid).map((row) => (
                  <tr key={row[0].r}>
                    <th scope="row">R{row[0].r}</th>
                    {row.map((c) => (
                      <td key={c.f} style={{ background: `hsl(${SEGMENT_HUES[c.segment]}, 60%, ${c.customers ? 86 : 96}%)` }}>
                        <button type="button" class="rfm-cell" data-r={c.r} data-f={c.f} data-segment={c.segment} onClick={() => setOpen({ segment: c.segment, label: c.label })} aria-label={`R${c.r} F${c.f}, ${c.label}: ${formatCount(c.customers)} customers`}>
                          <span class="rfm-count">{formatCount(c.customers)}</span>
                          <span class="rfm-label">{c.label}</span>
                        </button>
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
            <table class="table" data-testid="rfm-segments">
              <thead>
                <tr>
                  <th scope="col">Segment</th>
                  <th scope="col">Customers</th>
                </tr>
              </thead>
              <tbody>
                {data.segments.map((s) => (
                  <tr key={s.segment} data-segment={s.segment}>
                    <td>
                      <span class="swatch" style={{ background: `hsl(${SEGMENT_HUES[s.segment as keyof typeof SEGMENT_HUES] ?? 0}, 60%, 80%)` }} /> {s.label}
                    </td>
                    <td class="num">{formatCount(s.customers)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p>
            <button type="button" onClick={exportCsv} data-testid="rfm-csv">
              Download CSV of the grid
            </button>
          </p>
          {open && <Members segment={open.segment} label={open.label} runId={data.run.runId} />}
        </>
      )}
    </div>
  );
}
