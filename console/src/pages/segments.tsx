import { useState } from 'preact/hooks';
import { download, getCsv, getJson, qs } from '../api';
import { formatCount, formatInstant } from '../format';
import type { Page, Segment } from '../types';
import { ErrorBox, Freshness, Loading, Pager, Section, useLoad } from '../ui';

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
      {open && <Members segment={open} key={open.id} />}
    </div>
  );
}
