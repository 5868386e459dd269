/**
 * Analytics facts v1: each commerce event becomes one compact row in `analytics_facts` (keyed by
 * event id, insert-or-ignore), so every metric and model answers from the read store without
 * scanning the event store, and arrival order never changes the rows. Types it does not know
 * (identity admin commands and the like) are ignored.
 */
import type { Kysely } from 'kysely';
import type { Facts, RecordedCairnEvent } from '@cairn/domain';
import type { AnalyticsFactsTable, ReadModelSchema } from '@cairn/read-models';
import { factsProjection, isIngestEvent, type Projection, type Row } from '../projection';

export function toAnalyticsFact(e: RecordedCairnEvent): AnalyticsFactsTable | undefined {
  const ms = Date.parse(e.data.occurredAt);
  if (Number.isNaN(ms)) return undefined;
  const row: AnalyticsFactsTable = {
    event_id: e.id,
    kind: '',
    customer_id: e.data.customerId ?? null,
    anonymous_id: e.data.anonymousId ?? null,
    occurred_at: new Date(ms).toISOString(),
    occurred_ms: ms,
    order_id: null,
    amount_minor: null,
    currency: null,
    rating: null,
    code: null,
    referee_id: null,
    seq: Number(e.position),
  };
  const type = e.type as string;
  switch (type) {
    case 'cairn.purchase.v1': {
      const d = e.data as { orderId: string; totalMinor: number; currency: string; referralCode?: string };
      return { ...row, kind: 'purchase', order_id: d.orderId, amount_minor: d.totalMinor, currency: d.currency, code: d.referralCode ?? null };
    }
    case 'cairn.return.v1': {
      const d = e.data as { orderId: string; refundMinor: number; currency: string };
      return { ...row, kind: 'return', order_id: d.orderId, amount_minor: d.refundMinor, currency: d.currency };
    }
    case 'cairn.view.v1':
      return { ...row, kind: 'view' };
    case 'cairn.review.v1':
      return { ...row, kind: 'review', rating: (e.data as { rating: number }).rating, order_id: (e.data as { orderId?: string }).orderId ?? null };
    case 'cairn.referral.v1': {
      const d = e.data as { referralCode: string; refereeId?: string };
      return { ...row, kind: 'referral', code: d.referralCode, referee_id: d.refereeId ?? null };
    }
    case 'cairn.identify.v1':
      return { ...row, kind: 'identify' };
    // Consent is not activity: it does not make a customer active in the KPIs (the profile keeps it).
    case 'cairn.consent.v1':
      return undefined;
    default:
      return undefined;
  }
}

const ANALYTICS_COLUMNS = ['event_id', 'kind', 'customer_id', 'anonymous_id', 'occurred_at', 'occurred_ms', 'order_id', 'amount_minor', 'currency', 'rating', 'code', 'referee_id', 'seq'] as const;

export function analyticsProjection(): Projection {
  return factsProjection({
    name: 'analytics',
    version: 1,
    tables: [{ table: 'analytics_facts', key: ['event_id'], columns: ANALYTICS_COLUMNS, mode: 'insert' }],
    rowsOf(e, out) {
      if (!isIngestEvent(e)) return;
      const row = toAnalyticsFact(e);
      if (row) out.put('analytics_facts', row as unknown as Row);
    },
  });
}

export type LoadedFacts = { orders: Facts['orders'][number][]; returns: Facts['returns'][number][]; activity: Facts['activity'][number][]; maxSeq: number; rows: number };

/**
 * Reads the facts the metrics need: up to an instant (untilMs), after a log position (afterSeq,
 * for topping up an in-memory copy), for one customer or a person's customer ids, and with or
 * without non-purchase activity. The ids are the raw ones: `factsByPerson` reads them as persons.
 */
export async function loadAnalyticsFacts(
  db: Kysely<ReadModelSchema>,
  opts: { untilMs?: number; activity: boolean; customerId?: string; customerIds?: readonly string[]; afterSeq?: number },
): Promise<LoadedFacts> {
  let q = db.selectFrom('analytics_facts').select(['kind', 'customer_id', 'anonymous_id', 'occurred_ms', 'order_id', 'amount_minor', 'currency', 'rating', 'code', 'referee_id', 'seq']);
  if (opts.untilMs !== undefined) q = q.where('occurred_ms', '<=', opts.untilMs);
  if (!opts.activity) q = q.where('kind', 'in', ['purchase', 'return']);
  if (opts.customerId !== undefined) q = q.where('customer_id', '=', opts.customerId);
  if (opts.customerIds !== undefined) q = q.where('customer_id', 'in', opts.customerIds.length > 0 ? [...opts.customerIds] : ['']);
  if (opts.afterSeq !== undefined) q = q.where('seq', '>', opts.afterSeq);
  const rows = await q.execute();
  const facts: LoadedFacts = { orders: [], returns: [], activity: [], maxSeq: opts.afterSeq ?? -1, rows: rows.length };
  for (const r of rows) {
    const at = Number(r.occurred_ms);
    if (r.seq !== null && Number(r.seq) > facts.maxSeq) facts.maxSeq = Number(r.seq);
    switch (r.kind) {
      case 'purchase':
        if (r.customer_id !== null) facts.orders.push({ customerId: r.customer_id, orderId: r.order_id ?? '', at, totalMinor: Number(r.amount_minor), currency: r.currency ?? '', referralCode: r.code });
        break;
      case 'return':
        if (r.customer_id !== null) facts.returns.push({ customerId: r.customer_id, orderId: r.order_id ?? '', at, refundMinor: Number(r.amount_minor) });
        break;
      case 'view':
      case 'review':
      case 'referral':
      case 'identify':
        facts.activity.push({ kind: r.kind, customerId: r.customer_id, anonymousId: r.anonymous_id, at, rating: r.rating, referralCode: r.code, refereeId: r.referee_id });
        break;
      default:
        break;
    }
  }
  return facts;
}
