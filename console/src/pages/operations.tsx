import { useEffect, useState } from 'preact/hooks';
import { getJson, postJson } from '../api';
import { formatCount, formatInstant, formatLag } from '../format';
import type { AdminProjection } from '../types';
import { ErrorBox, Freshness, Loading, Section, useLoad } from '../ui';
import { Replays } from './replays';

interface Parked {
  projection: string;
  eventId: string;
  position: string;
  type: string;
  error: string;
  attempts: number;
  parkedAt: string;
}
interface Rebuild {
  id: string;
  phase: string;
  done: number;
  total: number | null;
  rate: number | null;
  etaSeconds: number | null;
  error: string | null;
}

/** Polls a rebuild job until it has finished one way or another. */
function RebuildProgress({ id, onDone }: { id: string; onDone: () => void }) {
  const [job, setJob] = useState<Rebuild | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const j = await getJson<Rebuild>(`/v1/admin/rebuilds/${encodeURIComponent(id)}`);
        if (stop) return;
        setJob(j);
        if (['switched', 'failed', 'interrupted'].includes(j.phase)) return onDone();
      } catch (e) {
        if (!stop) setError(e);
        return;
      }
      timer = setTimeout(poll, 500);
    };
    void poll();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [id]);
  if (error) return <ErrorBox error={error} />;
  if (!job) return <span>starting…</span>;
  const pct = job.total ? Math.min(100, Math.round((100 * job.done) / job.total)) : null;
  return (
    <span class="rebuild" data-testid="rebuild-progress" data-phase={job.phase}>
      <progress max={100} value={pct ?? undefined} aria-label={`rebuild ${job.id}`} /> {job.phase}: {formatCount(job.done)}
      {job.total !== null && ` of ${formatCount(job.total)}`} events{job.etaSeconds ? `, about ${formatCount(Math.round(job.etaSeconds))} s left` : ''}
      {job.error && <span class="error"> {job.error}</span>}
    </span>
  );
}

export function Operations() {
  const projections = useLoad(() => getJson<{ projections: AdminProjection[] }>('/v1/admin/projections'), []);
  const parked = useLoad(() => getJson<{ parked: Parked[] }>('/v1/admin/parked'), []);
  const [rebuilds, setRebuilds] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);

  const rebuild = async (name: string) => {
    setActionError(null);
    try {
      const job = await postJson<{ id: string }>('/v1/admin/rebuilds', { projections: [name] });
      setRebuilds({ ...rebuilds, [name]: job.id });
    } catch (e) {
      setActionError(e);
    }
  };
  const retry = async (body: { projection?: string; eventIds?: string[] }) => {
    setActionError(null);
    try {
      const r = await postJson<{ results: { eventId: string; outcome?: string; status?: string }[] }>('/v1/admin/parked/retry', body);
      setMessage(`Retried ${formatCount(r.results.length)} parked event(s).`);
      parked.reload();
      projections.reload();
    } catch (e) {
      setActionError(e);
    }
  };

  return (
    <div>
      <h1>Operations</h1>
      <Freshness projections={['profiles', 'loyalty', 'analytics']} stamp={projections.data} />
      <ErrorBox error={projections.error ?? parked.error ?? actionError} />
      {message && (
        <p class="note" role="status">
          {message}
        </p>
      )}
      <Section title="Projections" testid="ops-projections">
        <Loading when={projections.loading} />
        {projections.data && (
          <table class="table">
            <thead>
              <tr>
                <th scope="col">Projection</th>
                <th scope="col">Version</th>
                <th scope="col">State</th>
                <th scope="col">Log position</th>
                <th scope="col">Lag</th>
                <th scope="col">Rate (events/s)</th>
                <th scope="col">Parked</th>
                <th scope="col">Last error</th>
                <th scope="col">Rebuild</th>
              </tr>
            </thead>
            <tbody>
              {projections.data.projections.map((p) => (
                <tr key={p.name} data-projection={p.name}>
                  <th scope="row">{p.name}</th>
                  <td class="num">{p.version}</td>
                  <td data-field="state">{p.state}</td>
                  <td class="num" data-field="checkpoint">
                    {p.checkpoint === null ? 'none' : formatCount(Number(p.checkpoint))}
                  </td>
                  <td data-field="lag">{formatLag(p.lag)}</td>
                  <td class="num">{formatCount(p.rate)}</td>
                  <td class="num" data-field="parked">
                    {formatCount(p.parked)}
                  </td>
                  <td>{p.lastError ?? ''}</td>
                  <td>
                    {rebuilds[p.name] ? (
                      <RebuildProgress id={rebuilds[p.name]} onDone={() => projections.reload()} />
                    ) : (
                      <button type="button" onClick={() => rebuild(p.name)} data-testid={`rebuild-${p.name}`}>
                        Rebuild {p.name}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <button type="button" onClick={() => projections.reload()}>
          Refresh
        </button>
      </Section>
      <Section title="Parked events" testid="ops-parked">
        <Loading when={parked.loading} />
        {parked.data && parked.data.parked.length === 0 && <p>No parked events.</p>}
        {parked.data && parked.data.parked.length > 0 && (
          <>
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">Projection</th>
                  <th scope="col">Event</th>
                  <th scope="col">Type</th>
                  <th scope="col">Log position</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Parked at</th>
                  <th scope="col">Error</th>
                  <th scope="col">Retry</th>
                </tr>
              </thead>
              <tbody>
                {parked.data.parked.map((e) => (
                  <tr key={`${e.projection}/${e.eventId}`}>
                    <td>{e.projection}</td>
                    <td class="mono">{e.eventId}</td>
                    <td>{e.type}</td>
                    <td class="num">{formatCount(Number(e.position))}</td>
                    <td class="num">{formatCount(e.attempts)}</td>
                    <td>{formatInstant(e.parkedAt)}</td>
                    <td>{e.error}</td>
                    <td>
                      <button type="button" onClick={() => retry({ projection: e.projection, eventIds: [e.eventId] })}>
                        Retry
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <button type="button" onClick={() => retry({})}>
              Retry every parked event
            </button>
          </>
        )}
      </Section>
      <Replays projections={projections.data?.projections.map((p) => p.name) ?? []} />
    </div>
  );
}
