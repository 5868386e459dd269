/**
 * Shared by the operations specs: a small projection of their own (any `Projection` must work),
 * an event generator, and helpers. Not a spec itself.
 */
import { randomUUID } from 'crypto';
import { sql } from 'kysely';
import { streamFor, toStoredEvent, type EventInput, type RecordedCairnEvent } from '@cairn/domain';
import type { CairnEventStore, EventToAppend } from '@cairn/event-store';
import type { Projection } from '../projection';

/**
 * `ops_test_counts`: events per customer, times `weight` (weight 2 plays a buggy v1). Creates its
 * table on first use. Throws on a view of product `poison` while `poisonous.on` is true.
 */
export function countingProjection(opts: { version?: number; weight?: number; poisonous?: { on: boolean }; name?: string } = {}): Projection {
  const weight = opts.weight ?? 1;
  return {
    name: opts.name ?? 'test-counts',
    version: opts.version ?? 1,
    async applyBatch(trx, events: readonly RecordedCairnEvent[]) {
      await trx.schema
        .createTable('ops_test_counts')
        .ifNotExists()
        .addColumn('customer_id', 'text', (c) => c.primaryKey())
        .addColumn('events', 'integer', (c) => c.notNull())
        .execute();
      const add = new Map<string, number>();
      for (const e of events) {
        if (opts.poisonous?.on && e.type === 'cairn.view.v1' && (e.data as { productId?: string }).productId === 'poison') {
          throw new Error(`cannot fold product poison (event ${e.id})`);
        }
        const id = e.data.customerId ?? e.data.anonymousId ?? '?';
        add.set(id, (add.get(id) ?? 0) + weight);
      }
      for (const [id, n] of add) {
        await sql`insert into ops_test_counts (customer_id, events) values (${id}, ${n})
          on conflict (customer_id) do update set events = ops_test_counts.events + excluded.events`.execute(trx);
      }
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
