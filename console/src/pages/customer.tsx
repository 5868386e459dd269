import { useEffect, useState } from 'preact/hooks';
import { ApiError, getJson, qs } from '../api';
import { formatCount, formatDecimal, formatInstant, formatMoney, NONE } from '../format';
import type { CustomerEvent, CustomerEvents, Profile } from '../types';
import type { LoyaltySummary } from '../loyalty';
import { ErrorBox, Freshness, Loading, Section, useLoad } from '../ui';

interface Movement {
  at: string;
  type: string;
  pending: number;
  available: number;
  cause: string;
  ruleVersion: number;
  note: string;
}
interface Explain {
  tier: { summary: string };
  balance: { summary: string };
}
/** GET /v1/customers/:id's `consent` (docs/privacy.md): per purpose, as of now, with its history. */
interface ConsentChange {
  status: 'granted' | 'withdrawn';
  occurredAt: string;
  source: string | null;
  policyVersion: string | null;
  eventId: string;
}
type ConsentView = Record<string, { status: 'granted' | 'withdrawn'; since: string; updatedAt: string; source: string | null; policyVersion: string | null; history: ConsentChange[] }>;
interface RfmHistory {
  history: { runId: string; asOf: string; r: number; f: number; m: number; segment: string }[];
}

/** A 404 means "none" for the optional parts (no loyalty program, no RFM run yet). */
async function optional<T>(p: Promise<T>): Promise<T | { missing: string }> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return { missing: e.message };
    throw e;
  }
}
const isMissing = (v: unknown): v is { missing: string } => typeof v === 'object' && v !== null && 'missing' in v;

/** One line of the timeline: what happened, in words a person reads. */
export function describeEvent(e: CustomerEvent, currency: string): string {
  const d = e.data as Record<string, any>;
  const money = (m: unknown, c?: unknown) => formatMoney(typeof m === 'number' ? m : null, typeof c === 'string' ? c : currency);
  switch (e.type.replace(/^cairn\./, '').replace(/\.v\d+$/, '')) {
    case 'purchase':
      return `Purchase ${d.orderId}: ${money(d.totalMinor, d.currency)}, ${formatCount(Array.isArray(d.items) ? d.items.length : 0)} item(s)`;
    case 'return':
      return `Return on ${d.orderId}: ${money(d.refundMinor, d.currency)} refunded${d.reason ? ` (${d.reason})` : ''}`;
    case 'view':
      return `Viewed ${d.productId}${d.category ? ` in ${d.category}` : ''}`;
    case 'review':
      return `Reviewed ${d.productId}: ${d.rating} of 5${d.title ? ` “${d.title}”` : ''}`;
    case 'referral':
      return `Referral${d.referralCode ? ` with code ${d.referralCode}` : ''}${d.refereeId ? ` naming ${d.refereeId}` : ''}`;
    case 'identify':
      return `Identified${d.anonymousId ? ` (visitor ${d.anonymousId} linked)` : ''}`;
    case 'consent':
      return `Consent to ${String(d.purpose).replace(/_/g, ' ')} ${d.status}${d.source ? ` via ${d.source}` : ''}${d.policyVersion ? ` (policy ${d.policyVersion})` : ''}`;
    default:
      return e.type;
  }
}

function Timeline({ id, currency }: { id: string; currency: string }) {
  const [pages, setPages] = useState<CustomerEvents[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const more = async (cursor?: string) => {
    setLoading(true);
    try {
      const page = await getJson<CustomerEvents>(`/v1/customers/${encodeURIComponent(id)}/events${qs({ cursor, limit: 20 })}`);
      setPages((p) => (cursor === undefined ? [page] : [...p, page]));
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    setPages([]);
    void more();
  }, [id]);
  const items = pages.flatMap((p) => p.items);
  const last = pages[pages.length - 1];
  return (
    <Section title="Event timeline" testid="customer-timeline">
      <ErrorBox error={error} />
      {last && <p class="note">Newest first, from {last.streams.join(', ')}.</p>}
      <table class="table">
        <thead>
          <tr>
            <th scope="col">Business time</th>
            <th scope="col">What</th>
            <th scope="col">Id</th>
            <th scope="col">Log position</th>
          </tr>
        </thead>
        <tbody>
          {items.map((e) => (
            <tr key={e.id} data-event-id={e.id}>
              <td>{formatInstant(e.occurredAt)}</td>
              <td>{describeEvent(e, currency)}</td>
              <td class="mono">{e.streamId.replace(/^(customer|visitor)-/, '')}</td>
              <td class="num">{formatCount(Number(e.position))}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Loading when={loading} />
      {last?.nextCursor && (
        <button type="button" onClick={() => more(last.nextCursor!)} data-testid="timeline-more">
          Older events
        </button>
      )}
    </Section>
  );
}

/** Consent per purpose as of now, each with every change (oldest first). A purpose never mentioned counts as not granted. */
export function ConsentSection({ consent }: { consent: ConsentView | undefined }) {
  const purposes = Object.keys(consent ?? {}).sort();
  return (
    <Section title="Consent" testid="customer-consent">
      {purposes.length === 0 ? (
        <p>No consent recorded: for every purpose, not granted.</p>
      ) : (
        <table class="table">
          <thead>
            <tr>
              <th scope="col">Purpose</th>
              <th scope="col">Status</th>
              <th scope="col">Since</th>
              <th scope="col">Source</th>
              <th scope="col">Policy</th>
              <th scope="col">History (oldest first)</th>
            </tr>
          </thead>
          <tbody>
            {purposes.map((purpose) => {
              const c = consent![purpose]!;
              return (
                <tr key={purpose} data-purpose={purpose}>
                  <td class="mono">{purpose}</td>
                  <td data-field="status">{c.status}</td>
                  <td>{formatInstant(c.since)}</td>
                  <td>{c.source ?? NONE}</td>
                  <td>{c.policyVersion ?? NONE}</td>
                  <td>
                    <ol class="history" data-field="history">
                      {c.history.map((h) => (
                        <li key={h.eventId}>
                          {formatInstant(h.occurredAt)}: {h.status}
                          {h.source ? ` via ${h.source}` : ''}
                          {h.policyVersion ? ` (policy ${h.policyVersion})` : ''}
                        </li>
                      ))}
                    </ol>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Section>
  );
}

function Detail({ id }: { id: string }) {
  const enc = encodeURIComponent(id);
  const { data, error, loading } = useLoad(async () => {
    const profile = await getJson<Profile & { consent?: ConsentView }>(`/v1/customers/${enc}`);
    const [loyalty, ledger, explain, segments, rfm] = await Promise.all([
      optional(getJson<LoyaltySummary>(`/v1/loyalty/${enc}`)),
      optional(getJson<{ movements: Movement[] }>(`/v1/loyalty/${enc}/ledger`)),
      optional(getJson<Explain>(`/v1/loyalty/${enc}/explain`)),
      getJson<{ items: { segmentId: string; name: string; version: number; since: string }[] }>(`/v1/customers/${enc}/segments`),
      optional(getJson<RfmHistory>(`/v1/rfm/history/${enc}`)),
    ]);
    return { profile, loyalty, ledger, explain, segments, rfm };
  }, [id]);
  if (error) return <ErrorBox error={error} />;
  if (loading || !data) return <Loading when />;
  const { profile: p, loyalty, ledger, explain, segments, rfm } = data;
  const rfmRuns = isMissing(rfm) ? [] : rfm.history;
  const lastRfm = rfmRuns[rfmRuns.length - 1];
  return (
    <>
      <Freshness projections={['profiles', 'loyalty']} stamp={data} />
      <div class="columns">
        <Section title="Profile" testid="customer-profile">
          <dl class="facts">
            <dt>Customer</dt>
            <dd data-field="customerId">{p.customerId}</dd>
            <dt>Lifecycle stage</dt>
            <dd data-field="lifecycleStage">{p.lifecycleStage ?? NONE}</dd>
            <dt>First seen</dt>
            <dd>{formatInstant(p.firstSeenAt)}</dd>
            <dt>Last seen</dt>
            <dd>{formatInstant(p.lastSeenAt)}</dd>
            <dt>Orders</dt>
            <dd data-field="orders">{formatCount(p.orders)}</dd>
            <dt>Net revenue</dt>
            <dd data-field="netMinor">{formatMoney(p.netMinor, p.currency)}</dd>
            <dt>Refunded</dt>
            <dd data-field="refundedMinor">{formatMoney(p.refundedMinor, p.currency)}</dd>
            <dt>Average order</dt>
            <dd data-field="aovMinor">{formatMoney(p.aovMinor, p.currency)}</dd>
            <dt>Views</dt>
            <dd>{formatCount(p.views)}</dd>
            <dt>Reviews</dt>
            <dd>
              {formatCount(p.reviews)}
              {p.averageRating !== null && ` (average ${formatDecimal(p.averageRating, 1)})`}
            </dd>
            <dt>Referrals made</dt>
            <dd>{formatCount(p.referralsMade)}</dd>
            <dt>Channels</dt>
            <dd>{p.channels.join(', ') || NONE}</dd>
          </dl>
        </Section>
        <Section title="Identity" testid="customer-identity">
          {p.identity ? (
            <dl class="facts">
              <dt>Resolves to</dt>
              <dd>{p.identity.customerId}</dd>
              <dt>Customer ids</dt>
              <dd data-field="customerIds">{p.identity.customerIds.join(', ')}</dd>
              <dt>Anonymous ids</dt>
              <dd data-field="anonymousIds">{p.identity.anonymousIds.join(', ') || NONE}</dd>
              <dt>Shared devices (not linked)</dt>
              <dd>{p.identity.sharedDevices.join(', ') || NONE}</dd>
              <dt>Admin merges</dt>
              <dd>{formatCount(p.identity.merges.length)}</dd>
            </dl>
          ) : (
            <p>No identity links.</p>
          )}
        </Section>
        <Section title="Segments" testid="customer-segments">
          <ul data-field="segments">
            {segments.items.map((s) => (
              <li key={s.segmentId}>
                {s.name} (v{s.version}) since {formatInstant(s.since)}
              </li>
            ))}
          </ul>
          {segments.items.length === 0 && <p>In no rule-based segment.</p>}
          <p data-field="rfm">RFM: {lastRfm ? `R${lastRfm.r} F${lastRfm.f} M${lastRfm.m}, ${lastRfm.segment.replace(/_/g, ' ')} (run as of ${formatInstant(lastRfm.asOf)})` : 'not scored in any run'}</p>
        </Section>
      </div>
      <ConsentSection consent={p.consent} />
      <Section title="Loyalty" testid="customer-loyalty">
        {isMissing(loyalty) ? (
          <p>{loyalty.missing}</p>
        ) : (
          <>
            <dl class="facts">
              <dt>Available points</dt>
              <dd data-field="available">{formatCount(loyalty.balance.available)}</dd>
              <dt>Pending points</dt>
              <dd data-field="pending">{formatCount(loyalty.balance.pending)}</dd>
              <dt>Tier</dt>
              <dd data-field="tier">{loyalty.tier?.name ?? NONE}</dd>
              <dt>Next tier</dt>
              <dd>{loyalty.tier?.next ? `${loyalty.tier.next.name}: ${formatCount(loyalty.tier.next.remaining)} more` : NONE}</dd>
              <dt>Lifetime earned / redeemed / expired</dt>
              <dd>
                {formatCount(loyalty.lifetimeEarned)} / {formatCount(loyalty.redeemed)} / {formatCount(loyalty.expired)}
              </dd>
            </dl>
            {!isMissing(explain) && (
              <div class="explain" data-testid="customer-explain">
                <p>{explain.tier.summary}.</p>
                <p>{explain.balance.summary.replace(/^./, (c) => c.toUpperCase())}.</p>
              </div>
            )}
            {!isMissing(ledger) && (
              <table class="table" data-testid="customer-ledger">
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Movement</th>
                    <th scope="col">Pending</th>
                    <th scope="col">Available</th>
                    <th scope="col">Rule version</th>
                    <th scope="col">Why</th>
                  </tr>
                </thead>
                <tbody>
                  {ledger.movements.map((m, i) => (
                    <tr key={i}>
                      <td>{formatInstant(m.at)}</td>
                      <td>{m.type}</td>
                      <td class="num">{formatCount(m.pending)}</td>
                      <td class="num">{formatCount(m.available)}</td>
                      <td class="num">{m.ruleVersion}</td>
                      <td>{m.note}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </>
        )}
      </Section>
      <Timeline id={id} currency={p.currency} />
    </>
  );
}

export function Customer({ id }: { id: string | undefined }) {
  const [text, setText] = useState(id ?? '');
  useEffect(() => setText(id ?? ''), [id]);
  return (
    <div>
      <h1>Customer 360</h1>
      <form
        class="controls"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          if (text.trim()) location.hash = `#/customer/${encodeURIComponent(text.trim())}`;
        }}
      >
        <label>
          Customer id
          <input type="search" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} data-testid="customer-search" placeholder="e.g. c-42" />
        </label>
        <button type="submit">Open</button>
      </form>
      {id ? <Detail id={id} /> : <p>Search a customer by id (a merged id opens the surviving person).</p>}
    </div>
  );
}
