import { BACKWARDS, END, FORWARDS, START, StreamNotFoundError, WrongExpectedVersionError, MaxAppendSizeExceededError, binaryEvent } from '@eventstore/db-client';
import { collect, ev, rejection, startHarness, type Harness } from './test-support.spec';

describe('append and read (through @eventstore/db-client)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ maxAppendSize: 64 * 1024 });
  });
  afterAll(() => h.close());

  it('appends a batch and reads it back with revisions, positions, data and metadata', async () => {
    const res = await h.client.appendToStream('order-1', [ev('Placed', { n: 1 }), ev('Paid', { n: 2 }), ev('Shipped', { n: 3 })]);
    expect(res.success).toBe(true);
    expect(res.nextExpectedRevision).toBe(2n);
    const events = await collect(h.client.readStream('order-1'));
    expect(events.map((e) => [e.event!.revision, e.event!.type, e.event!.data])).toEqual([
      [0n, 'Placed', { n: 1 }],
      [1n, 'Paid', { n: 2 }],
      [2n, 'Shipped', { n: 3 }],
    ]);
    expect(res.position!.commit).toBe(events[2].event!.position!.commit);
    const positions = events.map((e) => e.event!.position!.commit);
    expect(positions[0]).toBeGreaterThan(0n);
    expect([...positions].sort((a, b) => (a < b ? -1 : 1))).toEqual(positions);
    expect(events[0].event!.created).toBeInstanceOf(Date);
    expect(Math.abs(events[0].event!.created.getTime() - Date.now())).toBeLessThan(60_000);
    expect(events[0].commitPosition).toBe(positions[0]);
  });

  it('round-trips binary events and custom metadata', async () => {
    await h.client.appendToStream('bin-1', binaryEvent({ type: 'Blob', data: Uint8Array.from([0, 1, 2, 255]), metadata: Uint8Array.from([9, 8]) }));
    await h.client.appendToStream('bin-1', ev('J', { a: 1 }), { expectedRevision: 0n });
    const [b, j] = await collect(h.client.readStream('bin-1'));
    expect(b.event!.isJson).toBe(false);
    expect(Buffer.from(b.event!.data as Uint8Array)).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(Buffer.from(b.event!.metadata as Uint8Array)).toEqual(Buffer.from([9, 8]));
    expect(j.event!.isJson).toBe(true);
  });

  it('enforces every expected-revision kind with WrongExpectedVersionError carrying expected and actual', async () => {
    await h.client.appendToStream('ev-1', ev('A'), { expectedRevision: 'no_stream' });
    let err = await rejection(h.client.appendToStream('ev-1', ev('B'), { expectedRevision: 'no_stream' }));
    expect(err).toBeInstanceOf(WrongExpectedVersionError);
    expect((err as unknown as WrongExpectedVersionError).actualVersion).toBe(0n);
    expect((err as unknown as WrongExpectedVersionError).expectedVersion).toBe('no_stream');
    err = await rejection(h.client.appendToStream('ev-1', ev('B'), { expectedRevision: 5n }));
    expect(err).toBeInstanceOf(WrongExpectedVersionError);
    expect((err as unknown as WrongExpectedVersionError).expectedVersion).toBe(5n);
    expect((err as unknown as WrongExpectedVersionError).actualVersion).toBe(0n);
    err = await rejection(h.client.appendToStream('ev-missing', ev('B'), { expectedRevision: 'stream_exists' }));
    expect(err).toBeInstanceOf(WrongExpectedVersionError);
    expect((err as unknown as WrongExpectedVersionError).actualVersion).toBe('no_stream');
    expect((await h.client.appendToStream('ev-1', ev('C'), { expectedRevision: 'stream_exists' })).nextExpectedRevision).toBe(1n);
    expect((await h.client.appendToStream('ev-1', ev('D'), { expectedRevision: 1n })).nextExpectedRevision).toBe(2n);
    expect((await h.client.appendToStream('ev-1', ev('E'), { expectedRevision: 'any' })).nextExpectedRevision).toBe(3n);
    expect((await collect(h.client.readStream('ev-1'))).map((e) => e.event!.type)).toEqual(['A', 'C', 'D', 'E']);
  });

  it('reports failures through the Append path too (per-call credentials force it)', async () => {
    const err = await rejection(h.client.appendToStream('ev-2', ev('B'), { expectedRevision: 3n, credentials: { username: 'admin', password: 'changeit' } }));
    expect(err).toBeInstanceOf(WrongExpectedVersionError);
    expect((err as unknown as WrongExpectedVersionError).actualVersion).toBe('no_stream');
    const ok = await h.client.appendToStream('ev-2', [ev('A'), ev('B')], { credentials: { username: 'admin', password: 'changeit' } });
    expect(ok.nextExpectedRevision).toBe(1n);
    expect(ok.position!.commit).toBeGreaterThan(0n);
  });

  it('treats a retried append (same ids, same expected revision) as idempotent', async () => {
    const batch = [ev('A', {}, 'a1f6c0d2-3b6e-4d5a-9a7c-1d2e3f4a5b6c'), ev('B', {}, 'b1f6c0d2-3b6e-4d5a-9a7c-1d2e3f4a5b6c')];
    const first = await h.client.appendToStream('idem-1', batch, { expectedRevision: 'no_stream' });
    const again = await h.client.appendToStream('idem-1', batch, { expectedRevision: 'no_stream' });
    expect(again.nextExpectedRevision).toBe(first.nextExpectedRevision);
    const any = await h.client.appendToStream('idem-1', batch, { expectedRevision: 'any' });
    expect(any.nextExpectedRevision).toBe(1n);
    await h.client.appendToStream('idem-1', ev('C'), { expectedRevision: 1n });
    const exact = await h.client.appendToStream('idem-1', batch, { expectedRevision: 'no_stream' });
    expect(exact.nextExpectedRevision).toBe(1n);
    expect((await collect(h.client.readStream('idem-1'))).map((e) => e.event!.type)).toEqual(['A', 'B', 'C']);
    // A partial match is not a retry: wrong expected version.
    const err = await rejection(h.client.appendToStream('idem-1', [batch[0], ev('X')], { expectedRevision: 'no_stream' }));
    expect(err).toBeInstanceOf(WrongExpectedVersionError);
  });

  it('rejects an append over the maximum size with MaxAppendSizeExceededError, on both append paths', async () => {
    const big = ev('Big', { blob: 'x'.repeat(70 * 1024) });
    const err = await rejection(h.client.appendToStream('big-1', big));
    expect(err).toBeInstanceOf(MaxAppendSizeExceededError);
    expect((err as unknown as MaxAppendSizeExceededError).maxAppendSize).toBe(64 * 1024);
    const err2 = await rejection(h.client.appendToStream('big-1', big, { credentials: { username: 'a', password: 'b' } }));
    expect(err2).toBeInstanceOf(MaxAppendSizeExceededError);
    expect((err2 as unknown as MaxAppendSizeExceededError).maxAppendSize).toBe(64 * 1024);
    await expect(collect(h.client.readStream('big-1'))).rejects.toBeInstanceOf(StreamNotFoundError);
  });

  it('reads a stream forwards/backwards from start, end and a revision, with maxCount', async () => {
    await h.client.appendToStream('rd-1', Array.from({ length: 10 }, (_, i) => ev(`E${i}`)));
    const types = async (o: Parameters<Harness['client']['readStream']>[1]) => (await collect(h.client.readStream('rd-1', o))).map((e) => e.event!.type);
    expect(await types({ fromRevision: 7n })).toEqual(['E7', 'E8', 'E9']);
    expect(await types({ fromRevision: 2n, maxCount: 2 })).toEqual(['E2', 'E3']);
    expect(await types({ direction: BACKWARDS, fromRevision: END, maxCount: 3 })).toEqual(['E9', 'E8', 'E7']);
    expect(await types({ direction: BACKWARDS, fromRevision: 1n })).toEqual(['E1', 'E0']);
    expect(await types({ direction: FORWARDS, fromRevision: END })).toEqual([]);
    expect(await types({ direction: FORWARDS, fromRevision: START, maxCount: 1 })).toEqual(['E0']);
    expect(await types({ fromRevision: 100n })).toEqual([]);
  });

  it('raises StreamNotFoundError for a stream that does not exist', async () => {
    const err = await rejection(collect(h.client.readStream('nope')));
    expect(err).toBeInstanceOf(StreamNotFoundError);
  });

  it('reads $all forwards/backwards, from a position (inclusive) with maxCount', async () => {
    await h.client.appendToStream('all-a', [ev('A1'), ev('A2')]);
    await h.client.appendToStream('all-b', [ev('B1')]);
    const all = await collect(h.client.readAll());
    const positions = all.map((e) => e.event!.position!.commit);
    for (let i = 1; i < positions.length; i++) expect(positions[i]).toBeGreaterThan(positions[i - 1]);
    expect(all.slice(-3).map((e) => e.event!.type)).toEqual(['A1', 'A2', 'B1']);
    const a2 = all[all.length - 2].event!.position!;
    const from = await collect(h.client.readAll({ fromPosition: a2 }));
    expect(from.map((e) => e.event!.type)).toEqual(['A2', 'B1']);
    const back = await collect(h.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 2 }));
    expect(back.map((e) => e.event!.type)).toEqual(['B1', 'A2']);
    const one = await collect(h.client.readAll({ maxCount: 1 }));
    expect(one).toHaveLength(1);
    expect(one[0].event!.position).toEqual(all[0].event!.position);
    expect(await collect(h.client.readAll({ fromPosition: END }))).toEqual([]);
  });
});
