import { END, START, StreamDeletedError, eventTypeFilter, excludeSystemEvents, streamNameFilter, type Position } from '@eventstore/db-client';
import { collect, ev, record, startHarness, waitFor, type Harness, userEvents } from './test-support.spec';

describe('catch-up subscriptions (through @eventstore/db-client)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(() => h.close());

  it('subscribes to a stream from start: catch-up, caughtUp, then live, in order', async () => {
    await h.client.appendToStream('s-1', [ev('A'), ev('B')]);
    const sub = h.client.subscribeToStream('s-1', { fromRevision: START });
    const r = record(sub);
    await r.waitFor(() => r.marks.includes('caughtUp'));
    expect(r.events.map((e) => e.event!.type)).toEqual(['A', 'B']);
    await h.client.appendToStream('other', ev('X'));
    await h.client.appendToStream('s-1', ev('C'));
    await r.waitFor(() => r.events.length === 3);
    expect(r.events.map((e) => [e.event!.type, e.event!.revision])).toEqual([
      ['A', 0n],
      ['B', 1n],
      ['C', 2n],
    ]);
    expect(r.marks[0]).toBe('confirmation');
    await sub.unsubscribe();
  });

  it('subscribes to a stream from a revision (exclusive) and from end', async () => {
    await h.client.appendToStream('s-2', [ev('A'), ev('B'), ev('C')]);
    const fromRev = record(h.client.subscribeToStream('s-2', { fromRevision: 0n }));
    const fromEnd = record(h.client.subscribeToStream('s-2', { fromRevision: END }));
    await fromRev.waitFor(() => fromRev.marks.includes('caughtUp'));
    await fromEnd.waitFor(() => fromEnd.marks.includes('caughtUp'));
    await h.client.appendToStream('s-2', ev('D'));
    await fromRev.waitFor(() => fromRev.events.length === 3);
    await fromEnd.waitFor(() => fromEnd.events.length === 1);
    expect(fromRev.events.map((e) => e.event!.type)).toEqual(['B', 'C', 'D']);
    expect(fromEnd.events.map((e) => e.event!.type)).toEqual(['D']);
  });

  it('waits on a stream that does not exist yet', async () => {
    const r = record(h.client.subscribeToStream('later', { fromRevision: START }));
    await r.waitFor(() => r.marks.includes('caughtUp'));
    await h.client.appendToStream('later', ev('First'));
    await r.waitFor(() => r.events.length === 1);
    expect(r.events[0].event!.revision).toBe(0n);
  });

  it('subscribes to $all from start, end and a position (exclusive)', async () => {
    await h.client.appendToStream('a-1', [ev('A'), ev('B'), ev('C')]);
    const all = userEvents(await collect(h.client.readAll()));
    const fromStart = record(h.client.subscribeToAll({ fromPosition: START }));
    const fromPos = record(h.client.subscribeToAll({ fromPosition: all[0].event!.position as Position }));
    const fromEnd = record(h.client.subscribeToAll({ fromPosition: END }));
    await waitFor(() => [fromStart, fromPos, fromEnd].every((r) => r.marks.includes('caughtUp')));
    await h.client.appendToStream('a-2', ev('D'));
    await waitFor(() => userEvents(fromStart.events).length === 4 && fromPos.events.length === 3 && fromEnd.events.length === 1);
    expect(userEvents(fromStart.events).map((e) => e.event!.type)).toEqual(['A', 'B', 'C', 'D']);
    expect(fromStart.events.length).toBeGreaterThan(4); // and the system events a fresh node starts with
    expect(fromPos.events.map((e) => e.event!.type)).toEqual(['B', 'C', 'D']);
    expect(fromEnd.events.map((e) => e.event!.type)).toEqual(['D']);
  });

  it('has no gap and no duplicate across the catch-up/live switch while appends race', async () => {
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; i < 150; i++) await h.client.appendToStream(`race-${w}`, [ev('E', { w, i }), ev('E', { w, i, b: 1 })]);
    });
    await new Promise((r) => setTimeout(r, 20));
    const subs = Array.from({ length: 3 }, () => record(h.client.subscribeToAll({ fromPosition: START })));
    await Promise.all(writers);
    const expected = (await collect(h.client.readAll())).map((e) => e.event!.position!.commit);
    expect(expected.length).toBeGreaterThan(1200); // 1200 appended after the fresh node's system events
    await waitFor(() => subs.every((s) => s.events.length >= expected.length));
    await new Promise((r) => setTimeout(r, 50));
    for (const s of subs) expect(s.events.map((e) => e.event!.position!.commit)).toEqual(expected);
  });

  it('filters $all server-side on stream prefix, event type regex and excludeSystemEvents, with checkpoints', async () => {
    await h.client.appendToStream('cart-1', [ev('Added'), ev('Removed')]);
    await h.client.appendToStream('order-1', [ev('Placed')]);
    await h.client.setStreamMetadata('cart-1', { maxCount: 10 });
    const byStream = record(h.client.subscribeToAll({ filter: streamNameFilter({ prefixes: ['cart-'] }) }));
    const byType = record(h.client.subscribeToAll({ filter: eventTypeFilter({ regex: '^(Placed|Removed)$' }) }));
    const noSystem = record(h.client.subscribeToAll({ filter: excludeSystemEvents() }));
    const everything = record(h.client.subscribeToAll());
    await waitFor(() => [byStream, byType, noSystem, everything].every((r) => r.marks.includes('caughtUp')));
    expect(byStream.events.map((e) => e.event!.type)).toEqual(['Added', 'Removed']);
    expect(byType.events.map((e) => e.event!.type)).toEqual(['Removed', 'Placed']);
    expect(noSystem.events.map((e) => e.event!.type)).toEqual(['Added', 'Removed', 'Placed']);
    expect(everything.events.slice(-4).map((e) => e.event!.type)).toEqual(['Added', 'Removed', 'Placed', '$metadata']);
    expect(everything.events[everything.events.length - 1].event!.streamId).toBe('$$cart-1');
    expect(everything.events.slice(0, -4).every((e) => e.event!.streamId.startsWith('$'))).toBe(true);
  });

  it('reaches checkpoints every 32 × checkpointInterval events scanned, also across stretches the filter drops', async () => {
    const checkpoints: bigint[] = [];
    const sub = h.client.subscribeToAll({
      filter: eventTypeFilter({
        prefixes: ['Keep'],
        checkpointInterval: 2,
        checkpointReached: async (_s, p) => {
          checkpoints.push(p.commit);
        },
      }),
    });
    const r = record(sub);
    await h.client.appendToStream('cp', Array.from({ length: 100 }, () => ev('Drop')));
    await h.client.appendToStream('cp', Array.from({ length: 100 }, (_, i) => ev(i % 10 === 0 ? 'Keep' : 'Drop')));
    await waitFor(() => checkpoints.length >= 3 && r.events.length === 10);
    const all = await collect(h.client.readAll());
    expect(checkpoints).toEqual([all[63].event!.position!.commit, all[127].event!.position!.commit, all[191].event!.position!.commit]);
    await sub.unsubscribe();
  });

  it('ends a stream subscription with StreamDeletedError when the stream is tombstoned', async () => {
    await h.client.appendToStream('doomed', ev('A'));
    const r = record(h.client.subscribeToStream('doomed'));
    await r.waitFor(() => r.events.length === 1);
    await h.client.tombstoneStream('doomed');
    await r.waitFor(() => r.error !== undefined);
    expect(r.error).toBeInstanceOf(StreamDeletedError);
  });

  it('survives clients that unsubscribe and disconnect while live', async () => {
    const subs = Array.from({ length: 20 }, () => h.client.subscribeToAll());
    await h.client.appendToStream('x', ev('A'));
    await Promise.all(subs.map((s) => s.unsubscribe()));
    await h.client.appendToStream('x', ev('B'));
    expect((await collect(h.client.readStream('x'))).length).toBe(2);
  });
});
