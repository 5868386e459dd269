/**
 * Replays (admin), in the Operations page: start an as-of or what-if replay (POST /v1/admin/replays),
 * follow its progress (GET /v1/admin/replays/:id) and read its summary; for a what-if, the diff per
 * read model (rows added, removed, changed) as a table and a chart, and on demand the changed rows
 * with their columns before and after (GET /v1/admin/replays/:id/files, diff/<table>.json).
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, getJson, postJson } from '../api';
import { formatCount, formatInstant } from '../format';
import { Bars, ErrorBox, Section } from '../ui';

export interface ReplayStatus {
  id: string;
  state: 'running' | 'done' | 'failed';
  request: { projections: string[]; asOf?: string; knownAt?: string; rules?: Record<string, unknown> };
  progress: { phase: string; done: number; total: number; rate: number; etaSeconds: number | null };
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
  summary: ReplaySummary | null;
}
export interface ReplaySummary {
  projections: { name: string; version: number }[];
  asOf: string | null;
  knownAt: string | null;
  rules: { live: unknown; whatIf: unknown } | null;
  events: { read: number; included: number; afterAsOf: number; unknownAtKnownAt: number };
  parked: { projection: string; id: string; position: string; type: string; error: string }[];
  tables: Record<string, { rows: number; files: string[] }>;
  areas: Record<string, unknown>;
  whatIf: { tables: Record<string, { added: number; removed: number; changed: number; unchanged: number }>; areas: Record<string, unknown> } | null;
}
interface TableDiff {
  addedKeys: unknown[];
  removedKeys: unknown[];
  changedRows: { key: unknown; columns: Record<string, { baseline: unknown; whatIf: unknown }> }[];
}

/** `2026-06-30T23:59` (a datetime-local value, read as UTC) → `2026-06-30T23:59:00Z`; '' → undefined. */
export function utcInstant(local: string): string | undefined {
  if (!local) return undefined;
  return `${local.length === 16 ? `${local}:00` : local}Z`;
}

/** A cell value of a diff, short enough for a table. */
export function shortValue(v: unknown, max = 80): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  if (s === undefined) return '';
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** Changed rows shown per read model (the diff file has every one). */
export const SHOWN_ROWS = 10;

const keyText = (k: unknown) => (Array.isArray(k) ? k.join(' / ') : String(k));

interface TierMove {
  customerId: string;
  from: string | null;
  to: string | null;
  available: { before: number; after: number };
  pending: { before: number; after: number };
}
/** `summary.whatIf.areas.loyalty` (libs/projections/src/loyalty/loyalty.what-if.ts). */
export interface LoyaltyWhatIfAnswer {
  members: number;
  promoted: { count: number; byTier: Record<string, number>; first: TierMove[] };
  demoted: { count: number; byTier: Record<string, number>; first: TierMove[] };
  liability: { pending: { before: number; after: number; change: number }; available: { before: number; after: number; change: number } };
  expired: { before: number; after: number; change: number };
  refusedRedemptions: { count: number; points: number; first: { customerId: string; redemptionId: string; at: string; points: number; availableThen: number }[] };
  changed: number;
}

const signed = (n: number) => (n > 0 ? `+${formatCount(n)}` : formatCount(n));

/** Who changes tier under the what-if program, and what it does to the points. */
function LoyaltyWhatIf({ a }: { a: LoyaltyWhatIfAnswer }) {
  const moves = (title: string, testid: string, m: LoyaltyWhatIfAnswer['promoted']) => (
    <>
      <h4>
        {title}: {formatCount(m.count)}
        {Object.keys(m.byTier).length > 0 && ` (${Object.entries(m.byTier).map(([k, v]) => `${k} ${formatCount(v)}`).join(', ')})`}
      </h4>
      {m.first.length > 0 && (
        <table class="table" data-testid={testid}>
          <caption>{m.count > m.first.length ? `the first ${m.first.length} of ${formatCount(m.count)}; the replay's file what-if/loyalty/${testid.replace('whatif-', '')}.json has every one` : `all ${formatCount(m.count)}`}</caption>
          <thead>
            <tr>
              <th scope="col">Customer</th>
              <th scope="col">Tier now</th>
              <th scope="col">Under the what-if</th>
              <th scope="col" class="num">Available points now</th>
              <th scope="col" class="num">Under the what-if</th>
            </tr>
          </thead>
          <tbody>
            {m.first.map((c) => (
              <tr key={c.customerId} data-customer={c.customerId}>
                <th scope="row">
                  <a href={`#/customers/${encodeURIComponent(c.customerId)}`}>{c.customerId}</a>
                </th>
                <td data-field="from">{c.from ?? '—'}</td>
                <td data-field="to">{c.to ?? '—'}</td>
                <td class="num">{formatCount(c.available.before)}</td>
                <td class="num">{formatCount(c.available.after)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
  return (
    <div data-testid="whatif-loyalty">
      <h3>Loyalty under the what-if program ({formatCount(a.members)} members)</h3>
      <dl class="facts">
        <dt>Promoted</dt>
        <dd data-field="promoted">{formatCount(a.promoted.count)}</dd>
        <dt>Demoted</dt>
        <dd data-field="demoted">{formatCount(a.demoted.count)}</dd>
        <dt>Available points (liability)</dt>
        <dd data-field="liability.available">
          {formatCount(a.liability.available.before)} → {formatCount(a.liability.available.after)} ({signed(a.liability.available.change)})
        </dd>
        <dt>Pending points</dt>
        <dd data-field="liability.pending">
          {formatCount(a.liability.pending.before)} → {formatCount(a.liability.pending.after)} ({signed(a.liability.pending.change)})
        </dd>
        <dt>Points expired</dt>
        <dd data-field="expired">{signed(a.expired.change)}</dd>
        <dt>Redemptions it would have refused</dt>
        <dd data-field="refused">
          {formatCount(a.refusedRedemptions.count)} ({formatCount(a.refusedRedemptions.points)} points)
        </dd>
      </dl>
      {moves('Promoted', 'whatif-promoted', a.promoted)}
      {moves('Demoted', 'whatif-demoted', a.demoted)}
    </div>
  );
}

function Progress({ job }: { job: ReplayStatus }) {
  const p = job.progress;
  const pct = p.total > 0 ? Math.min(100, Math.round((100 * p.done) / p.total)) : null;
  return (
    <p data-testid="replay-progress" data-replay-id={job.id} data-state={job.state} data-phase={p.phase}>
      <progress max={100} value={pct ?? undefined} aria-label={`replay ${job.id}`} /> {job.state === 'running' ? `${p.phase}: ${formatCount(p.done)}${p.total ? ` of ${formatCount(p.total)}` : ''} events` : job.state}
      {job.state === 'running' && p.etaSeconds ? `, about ${formatCount(Math.round(p.etaSeconds))} s left` : ''}
      {job.state !== 'running' && job.finishedAt && ` at ${formatInstant(job.finishedAt)} (${formatCount(job.progress.done)} events read)`}
      {job.error && <span class="error"> {job.error}</span>}
    </p>
  );
}

function ChangedRows({ id, tables }: { id: string; tables: string[] }) {
  const [diffs, setDiffs] = useState<Record<string, TableDiff> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const load = async () => {
    setBusy(true);
    setError(null);
    try {
      const { files } = await getJson<{ files: Record<string, string> }>(`/v1/admin/replays/${encodeURIComponent(id)}/files`);
      const out: Record<string, TableDiff> = {};
      for (const t of tables) if (files[`diff/${t}.json`]) out[t] = JSON.parse(files[`diff/${t}.json`]);
      setDiffs(out);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  if (!diffs)
    return (
      <>
        <ErrorBox error={error} />
        <button type="button" onClick={load} disabled={busy} data-testid="replay-show-rows">
          {busy ? 'Reading the diff…' : 'Show the rows that differ'}
        </button>
      </>
    );
  return (
    <div data-testid="replay-rows">
      {Object.entries(diffs).map(([table, d]) =>
        d.changedRows.length + d.addedKeys.length + d.removedKeys.length === 0 ? null : (
          <div key={table} data-table={table}>
            <h3>{table}</h3>
            {d.addedKeys.length > 0 && <p>Only in the what-if: {d.addedKeys.slice(0, 50).map(keyText).join(', ')}{d.addedKeys.length > 50 ? ` and ${formatCount(d.addedKeys.length - 50)} more` : ''}</p>}
            {d.removedKeys.length > 0 && <p>Only in the baseline: {d.removedKeys.slice(0, 50).map(keyText).join(', ')}{d.removedKeys.length > 50 ? ` and ${formatCount(d.removedKeys.length - 50)} more` : ''}</p>}
            {d.changedRows.length > 0 && (
              <div class="scroll">
                <table class="table">
                  <thead>
                    <tr>
                      <th scope="col">Row</th>
                      <th scope="col">Column</th>
                      <th scope="col">Baseline</th>
                      <th scope="col">What-if</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.changedRows.slice(0, SHOWN_ROWS).flatMap((r) =>
                      Object.entries(r.columns).map(([col, v], i) => (
                        <tr key={`${keyText(r.key)}/${col}`} data-key={keyText(r.key)} data-column={col}>
                          <td>{i === 0 ? keyText(r.key) : ''}</td>
                          <td>{col}</td>
                          <td class="mono">{shortValue(v.baseline, 60)}</td>
                          <td class="mono">{shortValue(v.whatIf, 60)}</td>
                        </tr>
                      )),
                    )}
                  </tbody>
                </table>
                {d.changedRows.length > SHOWN_ROWS && <p class="note">The first {SHOWN_ROWS} of {formatCount(d.changedRows.length)} changed rows; every one is in diff/{table}.json.</p>}
              </div>
            )}
          </div>
        ),
      )}
    </div>
  );
}

function Summary({ job }: { job: ReplayStatus }) {
  const s = job.summary!;
  const diffTables = s.whatIf ? Object.entries(s.whatIf.tables) : [];
  // Rules of the folds build a second read model, diffed table by table; an area's own rules (loyalty…) do not.
  const folds = diffTables.length > 0;
  return (
    <div data-testid="replay-summary">
      <p>
        {s.rules ? 'What-if' : 'As-of'} replay of {s.projections.map((p) => `${p.name} v${p.version}`).join(', ')}
        {s.asOf ? `, events that occurred by ${formatInstant(s.asOf)}` : ''}
        {s.knownAt ? `, as known at ${formatInstant(s.knownAt)}` : ''}.
      </p>
      <dl class="facts">
        <dt>Events read</dt>
        <dd data-field="events.read">{formatCount(s.events.read)}</dd>
        <dt>Included</dt>
        <dd data-field="events.included">{formatCount(s.events.included)}</dd>
        <dt>After the as-of instant</dt>
        <dd data-field="events.afterAsOf">{formatCount(s.events.afterAsOf)}</dd>
        <dt>Not known yet at known-at</dt>
        <dd data-field="events.unknownAtKnownAt">{formatCount(s.events.unknownAtKnownAt)}</dd>
        <dt>Parked (could not be folded)</dt>
        <dd data-field="parked">{formatCount(s.parked.length)}</dd>
      </dl>
      <table class="table" data-testid="replay-tables">
        <thead>
          <tr>
            <th scope="col">Read model</th>
            <th scope="col" class="num">Rows{folds ? ' (baseline)' : ''}</th>
            {folds && (
              <>
                <th scope="col" class="num">Added</th>
                <th scope="col" class="num">Removed</th>
                <th scope="col" class="num">Changed</th>
                <th scope="col" class="num">Unchanged</th>
              </>
            )}
          </tr>
        </thead>
        <tbody>
          {Object.entries(s.tables).map(([t, v]) => {
            const d = s.whatIf?.tables[t];
            return (
              <tr key={t} data-table={t}>
                <th scope="row">{t}</th>
                <td class="num" data-field="rows">{formatCount(v.rows)}</td>
                {d && (
                  <>
                    <td class="num" data-field="added">{formatCount(d.added)}</td>
                    <td class="num" data-field="removed">{formatCount(d.removed)}</td>
                    <td class="num" data-field="changed">{formatCount(d.changed)}</td>
                    <td class="num" data-field="unchanged">{formatCount(d.unchanged)}</td>
                  </>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
      {s.whatIf && (
        <>
          {folds && (
            <>
              <h3>Rows that differ under the what-if rules, per read model</h3>
              <Bars label="rows added, removed or changed per read model" labels={diffTables.map(([t]) => t)} values={diffTables.map(([, d]) => d.added + d.removed + d.changed)} height={150} slot={120} />
            </>
          )}
          {s.whatIf.areas.loyalty !== undefined && <LoyaltyWhatIf a={s.whatIf.areas.loyalty as LoyaltyWhatIfAnswer} />}
          {Object.entries(s.whatIf.areas).some(([k]) => k !== 'loyalty') && <pre class="mono">{JSON.stringify(Object.fromEntries(Object.entries(s.whatIf.areas).filter(([k]) => k !== 'loyalty')), null, 2)}</pre>}
          {folds && <ChangedRows id={job.id} tables={diffTables.filter(([, d]) => d.added + d.removed + d.changed > 0).map(([t]) => t)} />}
        </>
      )}
    </div>
  );
}

export function Replays({ projections }: { projections: string[] }) {
  const [chosen, setChosen] = useState<string[]>([]);
  const [asOf, setAsOf] = useState('');
  const [knownAt, setKnownAt] = useState('');
  const [rules, setRules] = useState('');
  const [formError, setFormError] = useState<unknown>(null);
  const [job, setJob] = useState<ReplayStatus | null>(null);

  useEffect(() => {
    if (!job || job.state !== 'running') return;
    let stop = false;
    const timer = setTimeout(async () => {
      try {
        const next = await getJson<ReplayStatus>(`/v1/admin/replays/${encodeURIComponent(job.id)}`);
        if (!stop) setJob(next);
      } catch (e) {
        if (!stop) setFormError(e);
      }
    }, 400);
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [job]);

  const start = async (e: Event) => {
    e.preventDefault();
    setFormError(null);
    let parsed: Record<string, unknown> | undefined;
    if (rules.trim()) {
      try {
        parsed = JSON.parse(rules);
      } catch (err) {
        return setFormError(new ApiError(400, 'CAIRN.VALIDATION', 'the what-if rules are not JSON', [{ field: 'rules', message: String((err as Error).message) }]));
      }
    }
    try {
      setJob(await postJson<ReplayStatus>('/v1/admin/replays', { projections: chosen, asOf: utcInstant(asOf), knownAt: utcInstant(knownAt), rules: parsed }));
    } catch (err) {
      setFormError(err);
    }
  };

  return (
    <Section title="Replays" testid="ops-replays">
      <p class="note">
        A replay folds the history again into scratch stores, never the live read models: <strong>as of</strong> a business instant (events that occurred by then), optionally <strong>as known at</strong> a recorded instant (events Cairn had received by then), and optionally under
        <strong> what-if rules</strong>: fold rules merged over the live ones (e.g. <code>{'{"currency": "EUR"}'}</code>: a baseline and a what-if, every row that differs), or an area's own rules (e.g. <code>{'{"loyalty": {"program": {…}}}'}</code>, the body of PUT /v1/loyalty/program: who changes tier and what it does to the points). Instants are UTC.
      </p>
      <form onSubmit={start} class="controls" data-testid="replay-form">
        <fieldset>
          <legend>Projections (none chosen: all)</legend>
          {projections.map((p) => (
            <label key={p} class="inline">
              <input type="checkbox" checked={chosen.includes(p)} onChange={(e) => setChosen((e.target as HTMLInputElement).checked ? [...chosen, p] : chosen.filter((x) => x !== p))} data-testid={`replay-projection-${p}`} /> {p}
            </label>
          ))}
        </fieldset>
        <label>
          As of (UTC)
          <input type="datetime-local" value={asOf} onInput={(e) => setAsOf((e.target as HTMLInputElement).value)} data-testid="replay-as-of" />
        </label>
        <label>
          Known at (UTC)
          <input type="datetime-local" value={knownAt} onInput={(e) => setKnownAt((e.target as HTMLInputElement).value)} data-testid="replay-known-at" />
        </label>
        <label>
          What-if rules (JSON, optional)
          <textarea rows={2} cols={36} value={rules} onInput={(e) => setRules((e.target as HTMLTextAreaElement).value)} placeholder='{"currency": "EUR"}' data-testid="replay-rules" />
        </label>
        <button type="submit" disabled={job?.state === 'running'} data-testid="replay-start">
          Start replay
        </button>
      </form>
      <ErrorBox error={formError} />
      {job && <Progress job={job} />}
      {job?.state === 'done' && job.summary && <Summary job={job} key={job.id} />}
    </Section>
  );
}
