import { StreamDeletedError, StreamNotFoundError, WrongExpectedVersionError, excludeSystemEvents } from '@eventstore/db-client';
import { collect, ev, rejection, startHarness, type Harness } from './test-support.spec';

describe('delete, tombstone and stream metadata (through @eventstore/db-client)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('soft delete: reads → not found; a later append continues at last+1 and only new events are visible', async () => {
    await h.client.appendToStream('soft-1', [ev('A'), ev('B')]);
    const del = await h.client.deleteStream('soft-1');
    expect(del.position!.commit).toBeGreaterThan(0n);
    expect(await rejection(collect(h.client.readStream('soft-1')))).toBeInstanceOf(StreamNotFoundError);
    const res = await h.client.appendToStream('soft-1', ev('C'));
    expect(res.nextExpectedRevision).toBe(2n);
    const events = await collect(h.client.readStream('soft-1'));
    expect(events.map((e) => [e.event!.type, e.event!.revision])).toEqual([['C', 2n]]);
    // The soft-deleted events are still in $all, as in EventStoreDB before a scavenge.
    const all = (await collect(h.client.readAll())).filter((e) => e.event!.streamId === 'soft-1');
    expect(all.map((e) => e.event!.type)).toEqual(['A', 'B', 'C']);
  });

  it('soft delete honours the expected revision', async () => {
    await h.client.appendToStream('soft-2', [ev('A'), ev('B')]);
    const err = await rejection(h.client.deleteStream('soft-2', { expectedRevision: 0n }));
    expect(err).toBeInstanceOf(WrongExpectedVersionError);
    expect((err as unknown as WrongExpectedVersionError).actualVersion).toBe(1n);
    await h.client.deleteStream('soft-2', { expectedRevision: 1n });
    // A soft-deleted stream counts as absent for no_stream.
    expect((await h.client.appendToStream('soft-2', ev('C'), { expectedRevision: 'no_stream' })).nextExpectedRevision).toBe(2n);
  });

  it('tombstone: reads and appends raise StreamDeletedError forever', async () => {
    await h.client.appendToStream('hard-1', ev('A'));
    const res = await h.client.tombstoneStream('hard-1');
    expect(res.position!.commit).toBeGreaterThan(0n);
    expect(await rejection(collect(h.client.readStream('hard-1')))).toBeInstanceOf(StreamDeletedError);
    expect(await rejection(h.client.appendToStream('hard-1', ev('B')))).toBeInstanceOf(StreamDeletedError);
    expect(await rejection(h.client.appendToStream('hard-1', ev('B'), { credentials: { username: 'u', password: 'p' } }))).toBeInstanceOf(StreamDeletedError);
    expect(await rejection(h.client.deleteStream('hard-1'))).toBeInstanceOf(StreamDeletedError);
    expect(await rejection(h.client.tombstoneStream('hard-1'))).toBeInstanceOf(StreamDeletedError);
    const all = await collect(h.client.readAll());
    expect(all.some((e) => e.event!.streamId === 'hard-1' && e.event!.type === '$streamDeleted')).toBe(true);
  });

  it('round-trips stream metadata including custom keys', async () => {
    await h.client.appendToStream('meta-1', ev('A'));
    expect((await h.client.getStreamMetadata('meta-1')).metadata).toBeUndefined();
    await h.client.setStreamMetadata('meta-1', { maxAge: 3600, truncateBefore: 0, maxCount: 5, tenant: 'acme', nested: { x: [1, 2] } });
    const got = await h.client.getStreamMetadata('meta-1');
    expect(got.metadata).toEqual({ maxAge: 3600, truncateBefore: 0, maxCount: 5, tenant: 'acme', nested: { x: [1, 2] } });
    const meta = await collect(h.client.readStream('$$meta-1'));
    expect(meta.map((e) => e.event!.type)).toEqual(['$metadata']);
  });

  it('applies $maxCount and $tb at read time', async () => {
    await h.client.appendToStream('mc-1', Array.from({ length: 10 }, (_, i) => ev(`E${i}`)));
    await h.client.setStreamMetadata('mc-1', { maxCount: 3 });
    expect((await collect(h.client.readStream('mc-1'))).map((e) => e.event!.type)).toEqual(['E7', 'E8', 'E9']);
    await h.client.setStreamMetadata('mc-1', { truncateBefore: 5 });
    expect((await collect(h.client.readStream('mc-1'))).map((e) => e.event!.type)).toEqual(['E5', 'E6', 'E7', 'E8', 'E9']);
    expect((await collect(h.client.readStream('mc-1', { direction: 'backwards', fromRevision: 'end' }))).map((e) => e.event!.type)).toEqual(['E9', 'E8', 'E7', 'E6', 'E5']);
  });

  it('applies $maxAge at read time', async () => {
    await h.client.appendToStream('ma-1', ev('Old'));
    await h.client.setStreamMetadata('ma-1', { maxAge: 1 });
    await new Promise((r) => setTimeout(r, 1100));
    await h.client.appendToStream('ma-1', ev('New'));
    expect((await collect(h.client.readStream('ma-1'))).map((e) => e.event!.type)).toEqual(['New']);
  });

  it('keeps system streams and event types real: visible in $all, dropped by excludeSystemEvents', async () => {
    await h.client.appendToStream('$sys-1', ev('$custom'));
    const all = await collect(h.client.readAll());
    expect(all.some((e) => e.event!.streamId === '$sys-1')).toBe(true);
    expect(all.some((e) => e.event!.type === '$metadata')).toBe(true);
    const sub = h.client.subscribeToAll({ filter: excludeSystemEvents() });
    const seen: string[] = [];
    sub.on('data', (e) => seen.push(e.event!.type));
    await new Promise<void>((r) => sub.once('caughtUp', () => r()));
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.some((t) => t.startsWith('$'))).toBe(false);
    await sub.unsubscribe();
  });
});
