/**
 * Arrival order does not matter (property, fast-check, real SQLite): for generated event sets with
 * anonymous and known customers, identifies, events carrying both ids and admin merges/unmerges
 * (read from the log, in their own order, anywhere among the ingest events and in any batch), every
 * arrival order, every split into batches and a projector crash/restart in between (a batch rolled
 * back and redelivered to a fresh fold state) leave the same bytes in the profile,
 * identity and segment-membership tables (memberships evaluated per batch at a fixed as-of) as
 * folding everything in one go and sweeping once.
 */
import fc from 'fast-check';
import { IDENTITY_MERGED, IDENTITY_UNMERGED, type Condition, type EventInput, type IdentityEvent } from '@cairn/domain';
import { openReadStore, type ReadStore } from '@cairn/read-models';
import { ProjectionHarness } from '../engine/harness';
import { profileProjection } from '../profile.projection';
import type { LogEvent } from '../projection';
import { evaluateDirty, sweepSegments } from '../segments/segment-engine';
import { defineSegmentRow, dump, record, recordAdmin } from './identity.test-support';

const AS_OF = { asOf: new Date('2026-07-03T00:00:00Z') };
const SEGMENTS: [string, Condition][] = [
  ['lapsed', { all: [{ count: { type: 'purchase', withinDays: 60 }, op: '=', value: 0 }, { field: 'orders', op: '>=', value: 1 }] }],
  ['shoe-browsers', { all: [{ count: { type: 'view', withinDays: 30, category: 'shoes' }, op: '>=', value: 1 }, { field: 'orders', op: '=', value: 0 }] }],
  ['big-spenders', { any: [{ sum: { type: 'purchase', field: 'totalMinor', withinDays: 120 }, op: '>', value: 40000 }, { field: 'channels', op: 'contains', value: 'store' }] }],
  ['mailable-buyers', { all: [{ consent: 'email_marketing' }, { field: 'orders', op: '>=', value: 1 }] }],
];

const customers = ['c1', 'c2', 'c3', 'c4', 'c5'];
const anons = ['a1', 'a2', 'a3'];
const at = fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2026, 5, 30) }).map((t) => new Date(t).toISOString());

const input: fc.Arbitrary<EventInput> = fc.oneof(
  fc.record({ a: fc.constantFrom(...anons), at, cat: fc.constantFrom('shoes', 'bags') }).map(
    (x): EventInput => ({ type: 'view', anonymousId: x.a, occurredAt: x.at, channel: 'web', productId: 'p', category: x.cat }),
  ),
  fc.record({ c: fc.constantFrom(...customers), at }).map((x): EventInput => ({ type: 'view', customerId: x.c, occurredAt: x.at, channel: 'app', productId: 'p' })),
  fc.record({ c: fc.constantFrom(...customers), a: fc.constantFrom(...anons), at }).map(
    (x): EventInput => ({ type: 'identify', customerId: x.c, anonymousId: x.a, occurredAt: x.at, channel: 'web' }),
  ),
  fc.record({ c: fc.constantFrom(...customers), a: fc.constantFrom(...anons), at }).map(
    (x): EventInput => ({ type: 'view', customerId: x.c, anonymousId: x.a, occurredAt: x.at, channel: 'store', productId: 'p', category: 'hats' }),
  ),
  fc.record({ c: fc.constantFrom(...customers), o: fc.constantFrom('o1', 'o2', 'o3', 'o4'), at, total: fc.integer({ min: 0, max: 50_000 }) }).map(
    (x): EventInput => ({
      type: 'purchase',
      customerId: x.c,
      occurredAt: x.at,
      channel: 'web',
      orderId: `${x.c}-${x.o}`,
      currency: 'USD',
      items: [{ productId: 'p', category: 'shoes', quantity: 1, unitPriceMinor: x.total }],
      totalMinor: x.total,
    }),
  ),
  fc.record({ c: fc.constantFrom(...customers), at, refund: fc.integer({ min: 0, max: 5000 }) }).map(
    (x): EventInput => ({ type: 'return', customerId: x.c, occurredAt: x.at, channel: 'web', orderId: `${x.c}-o1`, items: [{ productId: 'p', quantity: 1 }], refundMinor: x.refund, currency: 'USD' }),
  ),
  fc.record({ c: fc.constantFrom(...customers), at, r: fc.integer({ min: 1, max: 5 }) }).map(
    (x): EventInput => ({ type: 'review', customerId: x.c, occurredAt: x.at, channel: 'email', productId: 'p', rating: x.r }),
  ),
  // Consent from customers and from visitors (who become a customer's by identify), granted and withdrawn.
  fc.record({ who: fc.constantFrom(...customers.map((c) => ({ customerId: c })), ...anons.map((a) => ({ anonymousId: a }))), at, status: fc.constantFrom('granted' as const, 'withdrawn' as const) }).map(
    (x): EventInput => ({ type: 'consent', ...x.who, occurredAt: x.at, channel: 'web', purpose: 'email_marketing', status: x.status, source: 'preference-center' }),
  ),
);

/** Admin log: merges between customers, some later unmerged. */
const adminLog: fc.Arbitrary<IdentityEvent[]> = fc
  .array(fc.record({ s: fc.constantFrom(...customers), m: fc.constantFrom(...customers), undo: fc.boolean() }), { maxLength: 3 })
  .map((ms) => {
    const out: IdentityEvent[] = [];
    ms.forEach((x, i) => {
      if (x.s === x.m) return;
      out.push({ type: IDENTITY_MERGED, data: { mergeId: `m${i}`, survivorId: x.s, mergedId: x.m, requestedAt: '2026-07-01T00:00:00Z' } });
      if (x.undo) out.push({ type: IDENTITY_UNMERGED, data: { mergeId: `m${i}`, requestedAt: '2026-07-02T00:00:00Z' } });
    });
    return out;
  });

/**
 * Folds `batches` through one profile fold state (as the engine does, across batches), with
 * memberships evaluated after each batch; at `crashAt` the batch is folded and written, its
 * transaction dies, and a fresh state (a restarted process) is given the same batch again.
 */
async function project(store: ReadStore, batches: LogEvent[][], crashAt: number, sweep: boolean): Promise<string> {
  const harness = new ProjectionHarness(store, profileProjection({ currency: 'USD', sharedDeviceLimit: 2 }));
  for (const [id, condition] of SEGMENTS) await defineSegmentRow(store, id, condition);
  for (let b = 0; b < batches.length; b++) {
    if (b === crashAt) {
      // The batch is folded and written, then the transaction dies: nothing of it may remain.
      await harness.apply(batches[b]!, { crash: true });
      harness.restart();
    }
    await harness.apply(batches[b]!);
    // Memberships follow each batch (dirty persons), at the fixed as-of.
    await evaluateDirty(store, AS_OF);
  }
  while ((await evaluateDirty(store, AS_OF)) > 0);
  if (sweep) await sweepSegments(store, AS_OF);
  return dump(store);
}

describe('profiles and identity do not depend on arrival order (property)', () => {
  it('any order, any batch split, a crash and restart in between: same bytes', async () => {
    const scenario = fc
      .record({ inputs: fc.array(input, { minLength: 1, maxLength: 25 }), admin: adminLog })
      .chain(({ inputs, admin }) =>
        fc.record({
          inputs: fc.constant(inputs),
          admin: fc.constant(admin),
          order: fc.shuffledSubarray(
            inputs.map((_, i) => i),
            { minLength: inputs.length, maxLength: inputs.length },
          ),
          // The admin commands are one stream, read in order: only where they fall among the ingest events varies.
          adminAt: fc.array(fc.integer({ min: 0, max: inputs.length }), { minLength: admin.length, maxLength: admin.length }).map((a) => [...a].sort((x, y) => x - y)),
          cuts: fc.array(fc.integer({ min: 0, max: inputs.length + admin.length }), { maxLength: 4 }),
          crashAt: fc.integer({ min: -1, max: 4 }),
        }),
      );
    await fc.assert(
      fc.asyncProperty(scenario, async ({ inputs, admin, order, cuts, adminAt, crashAt }) => {
        const events = inputs.map((e, i) => record(e, `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`));
        const commands = admin.map((e, i) => recordAdmin(e, `00000000-0000-4000-9000-${String(i).padStart(12, '0')}`));
        const reference = await openReadStore(':memory:');
        const shuffled = await openReadStore(':memory:');
        try {
          // Reference: the ingest events in order, then the admin commands, in one batch, swept once.
          const expected = await project(reference, [[...events, ...commands]], -1, true);
          // Admin command i goes before the adminAt[i]-th ingest event of the permuted order (or after all of them).
          const permuted: LogEvent[] = [];
          let next = 0;
          order.forEach((ingest, k) => {
            while (next < commands.length && adminAt[next] === k) permuted.push(commands[next++]!);
            permuted.push(events[ingest]!);
          });
          permuted.push(...commands.slice(next));
          const bounds = [...new Set([0, ...cuts, permuted.length])].sort((a, b) => a - b);
          const batches = bounds.slice(1).map((end, i) => permuted.slice(bounds[i], end));
          // No final sweep here: the per-event path alone must reach the same memberships.
          const actual = await project(shuffled, batches, crashAt, false);
          expect(actual).toBe(expected);
        } finally {
          await Promise.all([reference.close(), shuffled.close()]);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('a flush bigger than a portion', () => {
  it('writes its portions in the one transaction: same bytes as a flush per customer, and a crash leaves none of them', async () => {
    // 2,500 persons (more than two portions), some customers linked to a visitor, some visitors alone.
    const events: LogEvent[] = [];
    for (let i = 0; i < 2500; i++) {
      const at = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
      // Every fifth a visitor alone; every third customer also carries a visitor id (a link).
      const customerId = i % 5 === 4 ? undefined : `c${i}`;
      const anonymousId = customerId === undefined || i % 3 === 0 ? `a${i}` : undefined;
      events.push(record({ type: 'view', customerId, anonymousId, occurredAt: at, channel: 'web', productId: 'p', category: 'shoes' }));
      if (customerId) events.push(record({ type: 'purchase', customerId, occurredAt: at, channel: 'web', orderId: `o${i}`, currency: 'USD', items: [{ productId: 'p', quantity: 1, unitPriceMinor: 100 + i }], totalMinor: 100 + i }));
    }
    const whole = await openReadStore(':memory:');
    const pieces = await openReadStore(':memory:');
    try {
      const big = new ProjectionHarness(whole, profileProjection({ currency: 'USD' }));
      await big.apply(events, { crash: true });
      expect(await whole.db.selectFrom('profiles').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).toEqual({ n: 0 });
      big.restart();
      await big.apply(events);
      const small = new ProjectionHarness(pieces, profileProjection({ currency: 'USD' }));
      for (let i = 0; i < events.length; i += 50) await small.apply(events.slice(i, i + 50));
      const expected = await dump(pieces);
      expect(JSON.parse(expected).profiles.length).toBe(2000);
      expect(await dump(whole)).toBe(expected);
    } finally {
      await Promise.all([whole.close(), pieces.close()]);
    }
  });
});
