import { useEffect, useState } from 'preact/hooks';
import { ApiError, getJson, qs } from '../api';
import { formatCount, formatInstant } from '../format';
import { describeProgram, loyaltyOverview, mapLimit, type LoyaltyOverview, type LoyaltySummary, type ProgramLevel } from '../loyalty';
import type { Page } from '../types';
import { Bars, ErrorBox, Freshness, Section } from '../ui';

interface ProgramVersion {
  version: number;
  effectiveFrom: string;
  recordedAt: string;
  program: Parameters<typeof describeProgram>[0] & { tiers: { levels: ProgramLevel[] } };
}

const DAY = 86_400_000;

/** A member's summary, or null for a customer without loyalty activity (404). */
async function summaryOf(id: string, asOf: string): Promise<LoyaltySummary | null> {
  try {
    return await getJson<LoyaltySummary>(`/v1/loyalty/${encodeURIComponent(id)}${qs({ asOf })}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

interface State {
  versions?: ProgramVersion[];
  missing?: string;
  progress?: { done: number; total: number };
  overview?: LoyaltyOverview;
  asOf?: string;
  error?: unknown;
}

export function Loyalty() {
  const [horizonDays, setHorizonDays] = useState(30);
  const [tick, setTick] = useState(0);
  const [state, setState] = useState<State>({});
  useEffect(() => {
    let stop = false;
    const set = (s: State) => !stop && setState(s);
    (async () => {
      let versions: ProgramVersion[];
      try {
        versions = (await getJson<{ versions: ProgramVersion[] }>('/v1/loyalty/program')).versions;
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) return set({ missing: e.message });
        throw e;
      }
      set({ versions, progress: { done: 0, total: 0 } });
      // Every customer id, then each one's ledger now and at the horizon (the ledger is computed on read).
      const ids: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await getJson<Page<{ customerId: string }>>(`/v1/customers${qs({ limit: 500, cursor })}`);
        ids.push(...page.items.map((c) => c.customerId));
        cursor = page.nextCursor ?? undefined;
      } while (cursor && !stop);
      const nowMs = Date.now();
      const asOf = new Date(nowMs).toISOString();
      const horizon = new Date(nowMs + horizonDays * DAY).toISOString();
      let done = 0;
      set({ versions, progress: { done, total: ids.length } });
      const pairs = await mapLimit(ids, 4, async (id) => {
        if (stop) return [null, null] as const;
        const now = await summaryOf(id, asOf);
        const later = now === null ? null : await summaryOf(id, horizon);
        done++;
        if (done % 25 === 0) set({ versions, progress: { done, total: ids.length } });
        return [now, later] as const;
      });
      const members = pairs.map((p) => p[0]).filter((s): s is LoyaltySummary => s !== null);
      const later = new Map(pairs.flatMap(([, l]) => (l ? [[l.customerId, l] as const] : [])));
      const current = versions[versions.length - 1]!;
      set({ versions, asOf, progress: { done: ids.length, total: ids.length }, overview: loyaltyOverview(members, later, current.program.tiers.levels) });
    })().catch((error) => set({ error }));
    return () => {
      stop = true;
    };
  }, [horizonDays, tick]);

  const { versions, overview: o, progress } = state;
  return (
    <div>
      <h1>Loyalty</h1>
      <Freshness projections={['loyalty', 'profiles']} stamp={state.asOf ?? state.missing} />
      <ErrorBox error={state.error} />
      {state.missing && <p data-testid="loyalty-missing">No loyalty program yet ({state.missing}).</p>}
      <div class="controls">
        <label>
          Expiring within
          <select value={String(horizonDays)} onChange={(e) => setHorizonDays(Number((e.target as HTMLSelectElement).value))} data-testid="loyalty-horizon">
            <option value="7">7 days</option>
            <option value="30">30 days</option>
            <option value="90">90 days</option>
          </select>
        </label>
        <button type="button" onClick={() => setTick((t) => t + 1)}>
          Recompute
        </button>
      </div>
      {progress && !o && !state.error && (
        <p class="loading" aria-live="polite" data-testid="loyalty-progress">
          Loading… computing each member&apos;s ledger: {formatCount(progress.done)} of {formatCount(progress.total)} customers
        </p>
      )}
      {o && (
        <>
          <p class="note">
            Computed in this page from each customer&apos;s ledger as of {formatInstant(state.asOf)} (GET /v1/loyalty/:id; Cairn keeps no program-wide summary, so this reads every customer: {formatCount(progress?.total)} of them).
          </p>
          <div class="kpis" data-testid="loyalty-kpis" data-as-of={state.asOf}>
            <div class="kpi">
              <div class="kpi-label">Members (with loyalty activity)</div>
              <div class="kpi-value" data-field="members">{formatCount(o.members)}</div>
            </div>
            <div class="kpi">
              <div class="kpi-label">Points liability: available</div>
              <div class="kpi-value" data-field="available">{formatCount(o.available)}</div>
            </div>
            <div class="kpi">
              <div class="kpi-label">Points liability: pending</div>
              <div class="kpi-value" data-field="pending">{formatCount(o.pending)}</div>
            </div>
            <div class="kpi">
              <div class="kpi-label">Expiring within {horizonDays} days</div>
              <div class="kpi-value" data-field="expiringSoon">{formatCount(o.expiringSoon)}</div>
              <div class="kpi-change">{formatCount(o.membersExpiringSoon)} member(s), if nothing else happens</div>
            </div>
            <div class="kpi">
              <div class="kpi-label">Points redeemed (lifetime)</div>
              <div class="kpi-value" data-field="redeemed">{formatCount(o.redeemed)}</div>
              <div class="kpi-change" data-field="membersWhoRedeemed">{formatCount(o.membersWhoRedeemed)} member(s) redeemed</div>
            </div>
          </div>
          <div class="columns">
            <Section title="Members per tier" testid="loyalty-tiers">
              <table class="table">
                <thead>
                  <tr>
                    <th scope="col">Tier</th>
                    <th scope="col" class="num">Members</th>
                  </tr>
                </thead>
                <tbody>
                  {o.tiers.map((t) => (
                    <tr key={t.name} data-tier={t.name}>
                      <th scope="row">{t.name}</th>
                      <td class="num">{formatCount(t.members)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Bars label="members per tier" labels={o.tiers.map((t) => t.name)} values={o.tiers.map((t) => t.members)} height={150} />
            </Section>
            <Section title="Highest available balances" testid="loyalty-top">
              <table class="table">
                <thead>
                  <tr>
                    <th scope="col">Customer</th>
                    <th scope="col">Tier</th>
                    <th scope="col" class="num">Available</th>
                    <th scope="col" class="num">Pending</th>
                  </tr>
                </thead>
                <tbody>
                  {o.topBalances.map((s) => (
                    <tr key={s.customerId}>
                      <td>
                        <a href={`#/customer/${encodeURIComponent(s.customerId)}`}>{s.customerId}</a>
                      </td>
                      <td>{s.tier?.name ?? '—'}</td>
                      <td class="num">{formatCount(s.balance.available)}</td>
                      <td class="num">{formatCount(s.balance.pending)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <p class="note">Customer 360 shows each one&apos;s ledger and why (explain).</p>
            </Section>
          </div>
        </>
      )}
      {versions && (
        <Section title="Program versions" testid="loyalty-versions">
          <table class="table">
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">In force from</th>
                <th scope="col">Recorded</th>
                <th scope="col">Rules</th>
              </tr>
            </thead>
            <tbody>
              {[...versions].reverse().map((v) => (
                <tr key={v.version} data-version={v.version}>
                  <td class="num">{v.version}</td>
                  <td>{formatInstant(v.effectiveFrom)}</td>
                  <td>
                    {formatInstant(v.recordedAt)}
                    {Date.parse(v.recordedAt) > Date.parse(v.effectiveFrom) ? ' (back-dated: re-rates history from its start)' : ''}
                  </td>
                  <td data-field="rules">{describeProgram(v.program)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
      )}
    </div>
  );
}
