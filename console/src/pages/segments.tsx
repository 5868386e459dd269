import { useState } from 'preact/hooks';
import { download, getCsv, getJson, qs } from '../api';
import { formatCount, formatInstant } from '../format';
import type { Page, Segment, SegmentSizes } from '../types';
import { changedPeriods } from '../sizes';
import { ErrorBox, Freshness, Lines, Loading, Pager, Section, useLoad } from '../ui';

/** Size over time with entries and exits per period (GET /v1/segments/:id/sizes). */
function Sizes({ segment }: { segment: Segment }) {
  const [period, setPeriod] = useState<'day' | 'week' | 'month'>('day');
  const { data, error, loading } = useLoad(() => getJson<SegmentSizes>(`/v1/segments/${segment.id}/sizes${qs({ period })}`), [segment.id, period]);
  const rows = data ? changedPeriods(data.points) : [];
  return (
    <Section title={`${segment.name}: size over time`} testid="segment-sizes">
      <div class="controls">
        <label>
          Period
          <select value={period} onChange={(e) => setPeriod((e.target as HTMLSelectElement).value as typeof period)} data-testid="segment-sizes-period">
            <option value="day">Day</option>
            <option value="week">Week</option>
            <option value="month">Month</option>
          </select>
        </label>
      </div>
      <ErrorBox error={error} />
      <Loading when={loading} />
      {data && data.points.length === 0 && <p>No member has entered this segment yet.</p>}
      {data && data.points.length > 0 && (
        <>
          <p class="note">
            Members at the end of each {data.period} (UTC), with the entries and exits that made it, from the segment&apos;s membership history; now{' '}
            <strong data-field="sizes-members">{formatCount(data.members)}</strong>.
          </p>
          <Lines
            label={`${segment.name}: members per ${data.period}`}
            labels={data.points.map((p) => p.period)}
            series={[
              { name: 'members', values: data.points.map((p) => p.size), color: '#1f6feb' },
              { name: 'entries', values: data.points.map((p) => p.entries), color: 'rgba(22,101,52,0.7)', bars: true },
              { name: 'exits', values: data.points.map((p) => p.exits), color: 'rgba(166,27,27,0.7)', bars: true },
            ]}
          />
          <table class="table" data-testid="segment-sizes-table">
            <thead>
              <tr>
                <th scope="col">{data.period === 'day' ? 'Day' : data.period === 'week' ? 'Week of' : 'Month'}</th>
                <th scope="col" class="num">Entries</th>
                <th scope="col" class="num">Exits</th>
                <th scope="col" class="num">Members at the end</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((p) => (
                <tr key={p.period} data-period={p.period}>
                  <td>{p.period}</td>
                  <td class="num">{formatCount(p.entries)}</td>
                  <td class="num">{formatCount(p.exits)}</td>
                  <td class="num">{formatCount(p.size)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="note">Periods without an entry or exit are left out of the table (the chart shows them).</p>
        </>
      )}
    </Section>
  );
}

function Members({ segment }: { segment: Segment }) {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const { data, error, loading } = useLoad(() => getJson<Page<{ customerId: string; since: string }>>(`/v1/segments/${segment.id}/members${qs({ cursor, limit: 25 })}`), [segment.id, cursor]);
  const [csvError, setCsvError] = useState<unknown>(null);
  const exportCsv = async () => {
    setCsvError(null);
    try {
      download(`segment-${segment.id}.csv`, await getCsv(`/v1/segments/${segment.id}/members`));
    } catch (e) {
      setCsvError(e);
    }
  };
  return (
    <Section title={`${segment.name}: members`} testid="segment-members">
      <ErrorBox error={error ?? csvError} />
      <Loading when={loading} />
      {data && (
        <>
          <table class="table">
            <thead>
              <tr>
                <th scope="col">Customer</th>
                <th scope="col">Member since</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((m) => (
                <tr key={m.customerId}>
                  <td>
                    <a href={`#/customer/${encodeURIComponent(m.customerId)}`}>{m.customerId}</a>
                  </td>
                  <td>{formatInstant(m.since)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager cursors={cursors} setCursors={setCursors} next={data.nextCursor}>
            <button type="button" onClick={exportCsv} data-testid="segment-csv">
              Download CSV of every member
            </button>
          </Pager>
        </>
      )}
    </Section>
  );
}

export function Segments() {
  const { data, error, loading } = useLoad(() => getJson<{ items: Segment[] }>('/v1/segments'), []);
  const [open, setOpen] = useState<Segment | null>(null);
  return (
    <div>
      <h1>Segments</h1>
      <Freshness projections={['profiles']} stamp={data} />
      <ErrorBox error={error} />
      <Loading when={loading} />
      {data && data.items.length === 0 && <p>No segments defined yet (POST /v1/segments with an admin key; docs/segments.md).</p>}
      {data && data.items.length > 0 && (
        <table class="table" data-testid="segments-table">
          <thead>
            <tr>
              <th scope="col">Segment</th>
              <th scope="col">Version</th>
              <th scope="col">Members</th>
              <th scope="col">Evaluated</th>
              <th scope="col">Updated</th>
              <th scope="col">Condition</th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((s) => (
              <tr key={s.id} data-segment-id={s.id}>
                <td>
                  <button type="button" class="link" onClick={() => setOpen(s)}>
                    {s.name}
                  </button>
                </td>
                <td class="num">{s.version}</td>
                <td class="num" data-field="members">
                  {formatCount(s.members)}
                </td>
                <td>{s.evaluated ? 'yes' : 'not yet'}</td>
                <td>{formatInstant(s.updatedAt)}</td>
                <td>
                  <code class="condition">{JSON.stringify(s.condition)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {open && <Sizes segment={open} key={`sizes-${open.id}`} />}
      {open && <Members segment={open} key={open.id} />}
    </div>
  );
}
