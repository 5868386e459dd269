/** Malformed or invalid requests get a gRPC status (as EventStoreDB would), never a crash or a corrupted store. */
import * as grpc from '@grpc/grpc-js';
import { collect, ev, rejection, startHarness, type Harness } from './test-support.spec';

describe('bad input', () => {
  let h: Harness;
  let raw: grpc.Client;
  beforeAll(async () => {
    h = await startHarness();
    raw = new grpc.Client(`127.0.0.1:${h.node.port}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    raw.close();
    await h.close();
  });

  const unary = (path: string, body: Buffer) =>
    new Promise<grpc.ServiceError | null>((resolve) =>
      raw.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, body, (err) => resolve(err)),
    );
  const serverStream = (path: string, body: Buffer) =>
    new Promise<grpc.ServiceError | null>((resolve) => {
      const call = raw.makeServerStreamRequest(path, (b: Buffer) => b, (b: Buffer) => b, body);
      call.on('data', () => undefined);
      call.on('error', (e: grpc.ServiceError) => resolve(e));
      call.on('end', () => resolve(null));
    });

  it('answers garbage bytes with an error status and keeps serving', async () => {
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]);
    expect((await serverStream('/event_store.client.streams.Streams/Read', garbage))?.code).toBeDefined();
    expect((await unary('/event_store.client.streams.Streams/Delete', garbage))?.code).toBeDefined();
    expect((await serverStream('/event_store.client.streams.Streams/Read', Buffer.alloc(0)))?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((await unary('/event_store.client.streams.Streams/Delete', Buffer.alloc(0)))?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((await unary('/event_store.client.projections.Projections/Create', Buffer.alloc(0)))?.code).toBe(grpc.status.UNIMPLEMENTED);
    await h.client.appendToStream('still-ok', ev('A'));
    expect(await collect(h.client.readStream('still-ok'))).toHaveLength(1);
  });

  it('rejects invalid stream names and events without corrupting anything', async () => {
    expect(await rejection(h.client.appendToStream('', ev('A')))).toBeDefined();
    expect(await rejection(h.client.appendToStream('$all', ev('A')))).toBeDefined();
    expect(await rejection(h.client.appendToStream('', ev('A'), { credentials: { username: 'a', password: 'b' } }))).toBeDefined();
    expect(await rejection(h.client.appendToStream('s', ev('A', {}, 'not-a-uuid')))).toBeDefined();
    expect(await rejection(h.client.appendToStream('s', ev('A', {}, 'not-a-uuid'), { credentials: { username: 'a', password: 'b' } }))).toBeDefined();
    expect(await rejection(collect(h.client.readStream('')))).toBeDefined();
    const all = await collect(h.client.readAll());
    expect(all.every((e) => e.event!.streamId !== '' && e.event!.streamId !== 's')).toBe(true);
    await h.client.appendToStream('s', ev('A'));
    expect(await collect(h.client.readStream('s'))).toHaveLength(1);
  });
});
