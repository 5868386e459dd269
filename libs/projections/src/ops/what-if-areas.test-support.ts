/**
 * Shared by the what-if area specs (segments, rfm, lifecycle): a read model of profiles folded from
 * given events (as a replay's scratch store holds them), a context, and event builders. Not a spec.
 */
import { randomUUID } from 'crypto';
import type { Kysely } from 'kysely';
import { streamFor, toStoredEvent, type EventInput, type Profile } from '@cairn/domain';
import type { EventToAppend } from '@cairn/event-store';
import { openReadStore, type ReadModelSchema, type ReadStore } from '@cairn/read-models';
import { ProjectionHarness } from '../engine/harness';
import { record } from '../identity/identity.test-support';
import { profileProjection } from '../profile.projection';
import type { WhatIfContext } from './what-if';

export function purchase(customerId: string, occurredAt: string, totalMinor: number): EventInput {
  return {
    type: 'purchase',
    customerId,
    occurredAt,
    channel: 'web',
    orderId: `${customerId}-${occurredAt}`,
    currency: 'USD',
    items: [{ productId: 'p1', quantity: 1, unitPriceMinor: totalMinor }],
    totalMinor,
  };
}

export function view(customerId: string, occurredAt: string): EventInput {
  return { type: 'view', customerId, occurredAt, channel: 'web', productId: 'p1' };
}

/** As appended to the log, received a second after it occurred. */
export function toAppend(input: EventInput): EventToAppend {
  const receivedAt = new Date(Date.parse(input.occurredAt) + 1000).toISOString();
  return { id: randomUUID(), streamId: streamFor(input), event: toStoredEvent(input), metadata: { receivedAt, correlationId: 'test' } };
}

/** An in-memory SQLite read model with the profiles of `events` (currency USD). */
export async function profilesOf(events: readonly EventInput[]): Promise<ReadStore> {
  const store = await openReadStore(':memory:');
  await new ProjectionHarness(store, profileProjection({ currency: 'USD' })).apply(events.map((e) => record(e)));
  return store;
}

/** Every profile of the read model, for direct computations. */
export async function allProfiles(db: Kysely<ReadModelSchema>): Promise<Profile[]> {
  return (await db.selectFrom('profiles').select('doc').orderBy('customer_id').execute()).map((r) => JSON.parse(r.doc) as Profile);
}

export function contextAt(at: string, extra: Partial<WhatIfContext> = {}): WhatIfContext {
  return { asOf: at, knownAt: null, at, events: null as never, live: null, rules: { currency: 'USD' }, ...extra };
}

/** A small deterministic population: `n` customers with 0–5 orders spread over 2025-07…2026-06, some views only. */
export function population(n: number, seed = 1): EventInput[] {
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const start = Date.parse('2025-07-01T00:00:00Z');
  const span = Date.parse('2026-06-30T00:00:00Z') - start;
  const out: EventInput[] = [];
  for (let i = 0; i < n; i++) {
    const id = `c${String(i).padStart(3, '0')}`;
    const orders = Math.floor(rnd() * 6);
    out.push(view(id, new Date(start + Math.floor(rnd() * span)).toISOString()));
    for (let k = 0; k < orders; k++) out.push(purchase(id, new Date(start + Math.floor(rnd() * span)).toISOString(), 500 + Math.floor(rnd() * 30_000)));
  }
  return out;
}
