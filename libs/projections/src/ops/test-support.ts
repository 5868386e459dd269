/**
 * Shared by the operations specs: a small projection of their own (any `Projection` must work),
 * an event generator, and helpers. Not a spec itself.
 */
import { randomUUID } from 'crypto';
import { sql, type Kysely } from 'kysely';
import { streamFor, toStoredEvent, type EventInput } from '@cairn/domain';
import type { CairnEventStore, EventToAppend } from '@cairn/event-store';
import type { ReadModelSchema } from '@cairn/read-models';
import { isIngestEvent, type FoldState, type LogEvent, type Projection } from '../projection';

/**
 * `ops_test_counts`: events per customer, times `weight` (weight 2 plays a buggy v1). Creates its
 * table in `setup`. Throws on a view of product `poison` while `poisonous.on` is true. Keeps the
 * counts in memory (loaded back from the table when needed), as stateful projections do.
 */
export function countingProjection(opts: { version?: number; weight?: number; poisonous?: { on: boolean }; name?: string } = {}): Projection {
  const weight = opts.weight ?? 1;
  return {
    name: opts.name ?? 'test-counts',
    version: opts.version ?? 1,
    tables: [{ table: 'ops_test_counts', key: ['customer_id'], columns: ['customer_id', 'events'], mode: 'upsert' }],
    async setup(db) {
      await db.schema
        .createTable('ops_test_counts')
        .ifNotExists()
        .addColumn('customer_id', 'text', (c) => c.primaryKey())
        .addColumn('events', 'integer', (c) => c.notNull())
        .execute();
    },
    createState(): FoldState {
      const counts = new Map<string, number>();
      const idOf = (e: LogEvent) => (isIngestEvent(e) ? (e.data.customerId ?? e.data.anonymousId ?? '?') : null);
      return {
        async prepare(events, db: Kysely<ReadModelSchema>) {
          const missing = [...new Set(events.map(idOf).filter((id): id is string => id !== null && !counts.has(id)))];
          if (missing.length === 0) return;
          const { rows } = await sql<{ customer_id: string; events: number }>`select customer_id, events from ops_test_counts where customer_id in (${sql.join(missing)})`.execute(db);
          for (const r of rows) counts.set(r.customer_id, Number(r.events));
        },
        apply(e, out) {
          const id = idOf(e);
          if (id === null) return;
          if (opts.poisonous?.on && e.type === 'cairn.view.v1' && (e.data as { productId?: string }).productId === 'poison') {
            throw new Error(`cannot fold product poison (event ${e.id})`);
          }
          const n = (counts.get(id) ?? 0) + weight;
          counts.set(id, n);
          out.put('ops_test_counts', { customer_id: id, events: n });
        },
      };
    },
  };
}

export function viewEvent(customerId: string, occurredAt: string, receivedAt: string, productId = 'p1'): EventToAppend {
  const input: EventInput = { type: 'view', customerId, occurredAt, channel: 'web', productId };
  return { id: randomUUID(), streamId: streamFor(input), event: toStoredEvent(input), metadata: { receivedAt, correlationId: 'test' } };
}

export function purchaseEvent(customerId: string, occurredAt: string, receivedAt: string, totalMinor: number, currency = 'USD'): EventToAppend {
  const input: EventInput = {
    type: 'purchase',
    customerId,
    occurredAt,
    channel: 'web',
    orderId: `o-${randomUUID()}`,
    currency,
    items: [{ productId: 'p1', quantity: 1, unitPriceMinor: totalMinor }],
    totalMinor,
  };
  return { id: randomUUID(), streamId: streamFor(input), event: toStoredEvent(input), metadata: { receivedAt, correlationId: 'test' } };
}

/** `count` views spread over `customers`, in appends of 250; returns the last position. */
export async function appendViews(events: CairnEventStore, count: number, customers: number, prefix = 'c'): Promise<bigint> {
  let last = 0n;
  const all = Array.from({ length: count }, (_, i) => viewEvent(`${prefix}${i % customers}`, '2026-06-01T10:00:00Z', '2026-06-01T10:00:01Z'));
  for (let i = 0; i < all.length; i += 250) {
    const pos = await events.append(all.slice(i, i + 250));
    if (pos && pos.commit > last) last = pos.commit;
  }
  return last;
}

export async function until(check: () => Promise<boolean> | boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
