/**
 * Persistent subscriptions, black-box through the real @eventstore/db-client: every management call, the three
 * strategies, ack/nack (park, retry, skip, stop), redelivery, parking, replay, message timeout and checkpoints
 * surviving a restart.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  BACKWARDS,
  DISPATCH_TO_SINGLE,
  END,
  EventStoreDBClient,
  PINNED,
  PersistentSubscriptionDoesNotExistError,
  PersistentSubscriptionDroppedError,
  PersistentSubscriptionExistsError,
  PersistentSubscriptionMaximumSubscribersReachedError,
  ROUND_ROBIN,
  START,
  eventTypeFilter,
  persistentSubscriptionToAllSettingsFromDefaults as allSettings,
  persistentSubscriptionToStreamSettingsFromDefaults as streamSettings,
  type PersistentSubscriptionToStream,
  type PersistentSubscriptionToStreamResolvedEvent,
} from '@eventstore/db-client';
import { collect, ev, rejection, startHarness, waitFor, type Harness } from './test-support.spec';
import { startEmbeddedNode } from './index';
import * as grpc from '@grpc/grpc-js';
import { gossipGrpc, persistentGrpc, serverFeaturesGrpc, serverFeaturesPb, streamsGrpc } from './proto';

type Sub = PersistentSubscriptionToStream;
type Got = PersistentSubscriptionToStreamResolvedEvent;

/** Records what a consumer receives; `autoAck` acks each event as it arrives. */
function consume(sub: Sub, autoAck = true) {
  const got: Got[] = [];
  let error: unknown;
  sub.on('data', (e: Got) => {
    got.push(e);
    if (autoAck) void sub.ack(e).catch(() => undefined);
  });
  sub.on('error', (e) => {
    error = e;
  });
  return {
    got,
    types: () => got.map((e) => e.event!.type),
    get error() {
      return error;
    },
  };
}

async function appendN(h: Harness, stream: string, n: number, prefix = 'E') {
  await h.client.appendToStream(
    stream,
    Array.from({ length: n }, (_, i) => ev(`${prefix}${i}`)),
  );
}

describe('persistent subscriptions (through @eventstore/db-client)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('creates, reads back, lists, updates and deletes groups to a stream and to $all', async () => {
    const c = h.client;
    await c.createPersistentSubscriptionToStream('orders', 'g1', streamSettings({ startFrom: START, maxRetryCount: 3, messageTimeout: 5000, consumerStrategyName: PINNED }));
    expect(await rejection(c.createPersistentSubscriptionToStream('orders', 'g1', streamSettings()))).toBeInstanceOf(PersistentSubscriptionExistsError);
    await c.createPersistentSubscriptionToStream('orders', 'g2', streamSettings());
    await c.createPersistentSubscriptionToAll('a1', allSettings({ startFrom: START }), { filter: eventTypeFilter({ prefixes: ['Order'] }) });

    const info = await c.getPersistentSubscriptionToStreamInfo('orders', 'g1');
    expect(info).toMatchObject({ eventSource: 'orders', groupName: 'g1' });
    expect(info.settings).toMatchObject({ startFrom: START, maxRetryCount: 3, messageTimeout: 5000, consumerStrategyName: PINNED, checkPointLowerBound: 10, checkPointUpperBound: 1000 });
    const allInfo = await c.getPersistentSubscriptionToAllInfo('a1');
    expect(allInfo).toMatchObject({ eventSource: '$all', groupName: 'a1' });
    expect(allInfo.settings.startFrom).toBe(START);

    expect((await c.listPersistentSubscriptionsToStream('orders')).map((i) => i.groupName).sort()).toEqual(['g1', 'g2']);
    expect((await c.listPersistentSubscriptionsToAll()).map((i) => i.groupName)).toEqual(['a1']);
    expect((await c.listAllPersistentSubscriptions()).map((i) => `${i.eventSource}/${i.groupName}`).sort()).toEqual(['$all/a1', 'orders/g1', 'orders/g2']);
    expect(await rejection(c.listPersistentSubscriptionsToStream('nothing-here'))).toBeInstanceOf(PersistentSubscriptionDoesNotExistError);

    await c.updatePersistentSubscriptionToStream('orders', 'g1', streamSettings({ startFrom: START, maxRetryCount: 7, consumerStrategyName: ROUND_ROBIN }));
    expect((await c.getPersistentSubscriptionToStreamInfo('orders', 'g1')).settings).toMatchObject({ maxRetryCount: 7, consumerStrategyName: ROUND_ROBIN });
    await c.updatePersistentSubscriptionToAll('a1', allSettings({ maxRetryCount: 2 }));
    expect((await c.getPersistentSubscriptionToAllInfo('a1')).settings.maxRetryCount).toBe(2);
    expect(await rejection(c.updatePersistentSubscriptionToStream('orders', 'nope', streamSettings()))).toBeInstanceOf(PersistentSubscriptionDoesNotExistError);

    await c.deletePersistentSubscriptionToStream('orders', 'g2');
    await c.deletePersistentSubscriptionToAll('a1');
    expect(await rejection(c.getPersistentSubscriptionToStreamInfo('orders', 'g2'))).toBeInstanceOf(PersistentSubscriptionDoesNotExistError);
    expect(await rejection(c.deletePersistentSubscriptionToAll('a1'))).toBeInstanceOf(PersistentSubscriptionDoesNotExistError);
    expect((await c.listAllPersistentSubscriptions()).map((i) => i.groupName)).toEqual(['g1']);
    await c.restartPersistentSubscriptionSubsystem();
  });

  it('reports settings exactly as given, connection names, extra statistics and the error messages EventStoreDB sends', async () => {
    const settings = streamSettings({ startFrom: END, checkPointUpperBound: 1 });
    await h.client.createPersistentSubscriptionToStream('info-s', 'g', settings);
    let info = await h.client.getPersistentSubscriptionToStreamInfo('info-s', 'g');
    expect(info.settings).toEqual(settings);
    expect(info.connections).toHaveLength(0);
    expect(info.stats.lastKnownEventRevision).toBeUndefined();
    const settings2 = streamSettings({ ...settings, startFrom: BigInt(123), checkPointLowerBound: 12, maxSubscriberCount: 200, consumerStrategyName: ROUND_ROBIN, extraStatistics: true });
    await h.client.updatePersistentSubscriptionToStream('info-s', 'g', settings2);
    expect((await h.client.getPersistentSubscriptionToStreamInfo('info-s', 'g')).settings).toEqual(settings2);
    const allSet = allSettings({ startFrom: { commit: 5n, prepare: 5n }, extraStatistics: true });
    await h.client.createPersistentSubscriptionToAll('info-a', allSet);
    expect((await h.client.getPersistentSubscriptionToAllInfo('info-a')).settings).toEqual(allSet);

    await appendN(h, 'info-s', 130);
    const sub = h.client.subscribeToPersistentSubscriptionToStream('info-s', 'g');
    const c = consume(sub);
    await waitFor(() => c.got.length === 7); // revisions 123..129
    info = await h.client.getPersistentSubscriptionToStreamInfo('info-s', 'g');
    expect(info.connections).toHaveLength(1);
    expect(info.connections[0].connectionName).toBe(h.client.connectionName);
    expect(info.connections[0].extraStatistics?.get('quintile 3')).toBeDefined();
    expect(info.stats.lastKnownEventRevision).toBe(129n);
    await sub.unsubscribe();

    const missing = await rejection(h.client.getPersistentSubscriptionToStreamInfo('no-stream', 'no-group'));
    expect(missing.message).toBe('5 NOT_FOUND: Subscription group no-group on stream no-stream does not exist.');
    const missingList = await rejection(h.client.listPersistentSubscriptionsToStream('no-stream'));
    expect(missingList.message).toBe('5 NOT_FOUND: Subscription group  on stream no-stream does not exist.');
  });

  it('ServerFeatures lists every method the node serves, and no other', async () => {
    const raw = new grpc.Client(`127.0.0.1:${h.node.port}`, grpc.credentials.createInsecure());
    try {
      const methods = await new Promise<serverFeaturesPb.SupportedMethods>((resolve, reject) =>
        raw.makeUnaryRequest(
          '/event_store.client.server_features.ServerFeatures/GetSupportedMethods',
          (b: Buffer) => b,
          (b: Buffer) => serverFeaturesPb.SupportedMethods.deserializeBinary(b),
          Buffer.alloc(0),
          (err, v) => (err ? reject(err) : resolve(v!)),
        ),
      );
      const listed = methods.getMethodsList().map((m) => `${m.getServiceName()}/${m.getMethodName()}`).sort();
      const served = (
        [
          ['event_store.client.streams.streams', streamsGrpc.StreamsService],
          ['event_store.client.persistent_subscriptions.persistentsubscriptions', persistentGrpc.PersistentSubscriptionsService],
          ['event_store.client.server_features.serverfeatures', serverFeaturesGrpc.ServerFeaturesService],
          ['event_store.client.gossip.gossip', gossipGrpc.GossipService],
        ] as Array<[string, Record<string, unknown>]>
      )
        .flatMap(([svc, def]) => Object.keys(def).map((m) => `${svc}/${m.toLowerCase()}`))
        .sort();
      expect(listed).toEqual(served);
      const ps = methods.getMethodsList().filter((m) => m.getServiceName().includes('persistent') && m.getMethodName() !== 'restartsubsystem');
      for (const m of ps) expect(m.getFeaturesList()).toEqual(['stream', 'all']);
      // Garbage and empty requests get a status, and the node keeps serving.
      const status = (path: string, body: Buffer) =>
        new Promise<grpc.ServiceError | null>((resolve) => raw.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, body, (err) => resolve(err)));
      expect((await status('/event_store.client.persistent_subscriptions.PersistentSubscriptions/Create', Buffer.from([0xff, 0xff, 0x0f])))?.code).toBeDefined();
      expect((await status('/event_store.client.persistent_subscriptions.PersistentSubscriptions/Create', Buffer.alloc(0)))?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect((await status('/event_store.client.persistent_subscriptions.PersistentSubscriptions/GetInfo', Buffer.alloc(0)))?.code).toBe(grpc.status.NOT_FOUND);
      await h.client.appendToStream('still-ok', ev('A'));
    } finally {
      raw.close();
    }
  });

  it('RoundRobin spreads a stream over the consumers, each event once, and the checkpoint follows the acks', async () => {
    await appendN(h, 'rr', 40);
    await h.client.createPersistentSubscriptionToStream('rr', 'g', streamSettings({ startFrom: START, consumerStrategyName: ROUND_ROBIN, checkPointLowerBound: 1, checkPointUpperBound: 1 }));
    const subs = [0, 1].map(() => h.client.subscribeToPersistentSubscriptionToStream('rr', 'g', { bufferSize: 5 }));
    const cs = subs.map((s) => consume(s));
    await waitFor(() => cs[0].got.length + cs[1].got.length >= 40);
    expect(cs[0].got.length).toBeGreaterThan(0);
    expect(cs[1].got.length).toBeGreaterThan(0);
    expect([...cs[0].types(), ...cs[1].types()].sort()).toEqual(Array.from({ length: 40 }, (_, i) => `E${i}`).sort());
    let info = await h.client.getPersistentSubscriptionToStreamInfo('rr', 'g');
    for (const deadline = Date.now() + 10_000; info.stats.lastCheckpointedEventRevision !== 39n && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 20));
      info = await h.client.getPersistentSubscriptionToStreamInfo('rr', 'g');
    }
    expect(info.stats.lastCheckpointedEventRevision).toBe(39n);
    expect(info.connections).toHaveLength(2);
    expect(info.settings.consumerStrategyName).toBe(ROUND_ROBIN);
    // The checkpoint is an event in the checkpoint stream, as in EventStoreDB.
    const cps = await collect(h.client.readStream('$persistentsubscription-rr::g-checkpoint', { direction: BACKWARDS, fromRevision: END, maxCount: 1 }));
    expect(cps[0].event!.type).toBe('$SubscriptionCheckpoint');
    await Promise.all(subs.map((s) => s.unsubscribe()));
  });

  it('redelivers the unacknowledged events of a consumer that goes away to another one', async () => {
    await appendN(h, 'dies', 6);
    await h.client.createPersistentSubscriptionToStream('dies', 'g', streamSettings({ startFrom: START }));
    // The doomed consumer has a connection of its own, closed under it (as when its process dies).
    const doomedClient = EventStoreDBClient.connectionString(h.node.connectionString);
    const doomed = doomedClient.subscribeToPersistentSubscriptionToStream('dies', 'g', { bufferSize: 10 });
    const d = consume(doomed, false);
    await waitFor(() => d.got.length === 6);
    const survivor = h.client.subscribeToPersistentSubscriptionToStream('dies', 'g', { bufferSize: 10 });
    const s = consume(survivor);
    await new Promise((r) => setImmediate(r));
    expect(s.got).toHaveLength(0); // all six are still out with the first consumer
    await doomedClient.dispose();
    await waitFor(() => s.got.length === 6);
    expect(s.types()).toEqual(['E0', 'E1', 'E2', 'E3', 'E4', 'E5']);
    expect(s.got.every((e) => e.retryCount === 1)).toBe(true);
    await survivor.unsubscribe();
  });

  it('nack retry redelivers with a growing retryCount, parks after maxRetryCount, and replayParked delivers it again', async () => {
    await appendN(h, 'poison', 1, 'Bad');
    await h.client.createPersistentSubscriptionToStream('poison', 'g', streamSettings({ startFrom: START, maxRetryCount: 2 }));
    const sub = h.client.subscribeToPersistentSubscriptionToStream('poison', 'g');
    const counts: number[] = [];
    let replaying = false;
    sub.on('data', (e: Got) => {
      counts.push(e.retryCount);
      if (replaying) void sub.ack(e);
      else void sub.nack('retry', 'cannot handle it', e);
    });
    await waitFor(() => counts.length === 3);
    expect(counts).toEqual([0, 1, 2]);
    let info = await h.client.getPersistentSubscriptionToStreamInfo('poison', 'g');
    for (const deadline = Date.now() + 10_000; info.stats.parkedMessageCount !== 1n && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 10));
      info = await h.client.getPersistentSubscriptionToStreamInfo('poison', 'g');
    }
    expect(info.stats.parkedMessageCount).toBe(1n);
    const parked = await collect(h.client.readStream('$persistentsubscription-poison::g-parked'));
    expect(parked.map((e) => e.event!.type)).toEqual(['$>']);
    expect(Buffer.from(parked[0].event!.data as Uint8Array).toString()).toBe('0@poison');

    replaying = true;
    await h.client.replayParkedMessagesToStream('poison', 'g');
    await waitFor(() => counts.length === 4);
    expect(counts[3]).toBe(0);
    expect((await h.client.getPersistentSubscriptionToStreamInfo('poison', 'g')).stats.parkedMessageCount).toBe(0n);
    await sub.unsubscribe();
  });

  it('nack park parks at once, skip drops, stop leaves the event out until its message timeout', async () => {
    await h.client.appendToStream('nacks', [ev('Park'), ev('Skip'), ev('Stop')]);
    await h.client.createPersistentSubscriptionToStream('nacks', 'g', streamSettings({ startFrom: START, messageTimeout: 300 }));
    const sub = h.client.subscribeToPersistentSubscriptionToStream('nacks', 'g');
    const seen: Array<[string, number]> = [];
    sub.on('data', (e: Got) => {
      const t = e.event!.type;
      seen.push([t, e.retryCount]);
      if (t === 'Park') void sub.nack('park', 'poison', e);
      else if (t === 'Skip') void sub.nack('skip', 'ignore', e);
      else if (e.retryCount === 0) void sub.nack('stop', 'stop', e);
      else void sub.ack(e);
    });
    await waitFor(() => seen.some(([t, n]) => t === 'Stop' && n === 1));
    expect(seen).toEqual([
      ['Park', 0],
      ['Skip', 0],
      ['Stop', 0],
      ['Stop', 1],
    ]);
    const parked = await collect(h.client.readStream('$persistentsubscription-nacks::g-parked'));
    expect(parked.map((e) => Buffer.from(e.event!.data as Uint8Array).toString())).toEqual(['0@nacks']);
    await sub.unsubscribe();
  });

  it('redelivers an event whose message timeout passes without an ack', async () => {
    await appendN(h, 'slow', 1);
    await h.client.createPersistentSubscriptionToStream('slow', 'g', streamSettings({ startFrom: START, messageTimeout: 200 }));
    const sub = h.client.subscribeToPersistentSubscriptionToStream('slow', 'g');
    const counts: number[] = [];
    sub.on('data', (e: Got) => {
      counts.push(e.retryCount);
      if (e.retryCount > 0) void sub.ack(e);
    });
    await waitFor(() => counts.length === 2);
    expect(counts).toEqual([0, 1]);
    await sub.unsubscribe();
  });

  it('Pinned keeps every stream on one consumer; DispatchToSingle fills the first consumer first', async () => {
    for (let round = 0; round < 5; round++) {
      for (const s of ['p-a', 'p-b', 'p-c', 'p-d', 'p-e', 'p-f']) await h.client.appendToStream(s, ev(`T${round}`));
    }
    await h.client.createPersistentSubscriptionToAll('pinned', allSettings({ startFrom: START, consumerStrategyName: PINNED }), {
      filter: { filterOn: 'streamName', prefixes: ['p-'] } as never,
    });
    const subs = [0, 1, 2].map(() => h.client.subscribeToPersistentSubscriptionToAll('pinned', { bufferSize: 100 }));
    const cs = subs.map((s) => consume(s as unknown as Sub));
    await waitFor(() => cs.reduce((n, c) => n + c.got.length, 0) === 30);
    const owner = new Map<string, Set<number>>();
    cs.forEach((c, i) => c.got.forEach((e) => owner.set(e.event!.streamId, (owner.get(e.event!.streamId) ?? new Set()).add(i))));
    expect(owner.size).toBe(6);
    for (const set of owner.values()) expect(set.size).toBe(1);
    await Promise.all(subs.map((s) => s.unsubscribe()));

    await appendN(h, 'single', 10);
    await h.client.createPersistentSubscriptionToStream('single', 'g', streamSettings({ startFrom: START, consumerStrategyName: DISPATCH_TO_SINGLE }));
    const first = h.client.subscribeToPersistentSubscriptionToStream('single', 'g', { bufferSize: 100 });
    const f = consume(first, false);
    await waitFor(() => f.got.length === 10);
    const second = h.client.subscribeToPersistentSubscriptionToStream('single', 'g', { bufferSize: 100 });
    const s = consume(second);
    await h.client.appendToStream('single', ev('Late'));
    await waitFor(() => f.got.length === 11);
    expect(s.got).toHaveLength(0);
    await Promise.all([first.unsubscribe(), second.unsubscribe()]);
  });

  it('restartSubsystem and delete drop the consumers; after a restart the unacknowledged events come again', async () => {
    await appendN(h, 'restart', 3);
    await h.client.createPersistentSubscriptionToStream('restart', 'g', streamSettings({ startFrom: START }));
    const first = consume(h.client.subscribeToPersistentSubscriptionToStream('restart', 'g'), false);
    await waitFor(() => first.got.length === 3);
    await h.client.restartPersistentSubscriptionSubsystem();
    await waitFor(() => first.error !== undefined);
    expect(first.error).toBeInstanceOf(PersistentSubscriptionDroppedError);
    const againSub = h.client.subscribeToPersistentSubscriptionToStream('restart', 'g');
    const again = consume(againSub, false);
    await waitFor(() => again.got.length === 3);
    expect(again.types()).toEqual(['E0', 'E1', 'E2']);
    await h.client.deletePersistentSubscriptionToStream('restart', 'g');
    await waitFor(() => again.error !== undefined);
    expect(again.error).toBeInstanceOf(PersistentSubscriptionDroppedError);
  });

  it('a group deleted and created again starts afresh, not from the old checkpoint or parked messages', async () => {
    await appendN(h, 'again', 5);
    const settings = streamSettings({ startFrom: START, checkPointLowerBound: 1, checkPointUpperBound: 1 });
    await h.client.createPersistentSubscriptionToStream('again', 'g', settings);
    const first = h.client.subscribeToPersistentSubscriptionToStream('again', 'g');
    first.on('data', (e: Got) => void (e.event!.type === 'E0' ? first.nack('park', 'no', e) : first.ack(e)));
    for (const deadline = Date.now() + 10_000; ; ) {
      const info = await h.client.getPersistentSubscriptionToStreamInfo('again', 'g');
      if (info.stats.lastCheckpointedEventRevision === 4n && info.stats.parkedMessageCount === 1n) break;
      if (Date.now() > deadline) throw new Error('no checkpoint at 4 with one parked message');
      await new Promise((r) => setTimeout(r, 10));
    }
    await first.unsubscribe();
    await h.client.deletePersistentSubscriptionToStream('again', 'g');
    await h.client.createPersistentSubscriptionToStream('again', 'g', settings);
    const info = await h.client.getPersistentSubscriptionToStreamInfo('again', 'g');
    expect(info.stats.lastCheckpointedEventRevision).toBeUndefined();
    expect(info.stats.parkedMessageCount).toBe(0n);
    const second = consume(h.client.subscribeToPersistentSubscriptionToStream('again', 'g'));
    await waitFor(() => second.got.length === 5);
    expect(second.types()).toEqual(['E0', 'E1', 'E2', 'E3', 'E4']);
  });

  it('a $all group delivers only what its filter matches; maxSubscriberCount and unknown groups are refused', async () => {
    await h.client.createPersistentSubscriptionToAll('only-orders', allSettings({ startFrom: START, maxSubscriberCount: 1 }), {
      filter: eventTypeFilter({ prefixes: ['Order'] }),
    });
    await h.client.appendToStream('mixed-1', [ev('OrderPlaced'), ev('Clicked'), ev('OrderShipped')]);
    const sub = h.client.subscribeToPersistentSubscriptionToAll('only-orders');
    const c = consume(sub as unknown as Sub);
    await waitFor(() => c.got.length === 2);
    expect(c.types()).toEqual(['OrderPlaced', 'OrderShipped']);
    const extra = h.client.subscribeToPersistentSubscriptionToAll('only-orders');
    const e = consume(extra as unknown as Sub);
    await waitFor(() => e.error !== undefined);
    expect(e.error).toBeInstanceOf(PersistentSubscriptionMaximumSubscribersReachedError);
    const missing = consume(h.client.subscribeToPersistentSubscriptionToStream('nowhere', 'nobody'));
    await waitFor(() => missing.error !== undefined);
    expect(missing.error).toBeInstanceOf(PersistentSubscriptionDoesNotExistError);
    await sub.unsubscribe();
  });
});

describe('persistent subscriptions are durable', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cairn-esdb-ps-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps groups and their checkpoints across a restart: the next consumer starts after the checkpoint', async () => {
    let node = await startEmbeddedNode({ port: 0, dataDir: dir });
    let client = EventStoreDBClient.connectionString(node.connectionString);
    await client.appendToStream('durable', Array.from({ length: 10 }, (_, i) => ev(`E${i}`)));
    await client.createPersistentSubscriptionToStream('durable', 'g', streamSettings({ startFrom: START, checkPointLowerBound: 1, checkPointUpperBound: 5, checkPointAfter: 50 }));
    const sub = client.subscribeToPersistentSubscriptionToStream('durable', 'g');
    const c = consume(sub);
    await waitFor(() => c.got.length === 10);
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
      const info = await client.getPersistentSubscriptionToStreamInfo('durable', 'g');
      if (info.stats.lastCheckpointedEventRevision === 9n) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await sub.unsubscribe();
    await client.dispose();
    await node.close();

    node = await startEmbeddedNode({ port: 0, dataDir: dir });
    client = EventStoreDBClient.connectionString(node.connectionString);
    try {
      const info = await client.getPersistentSubscriptionToStreamInfo('durable', 'g');
      expect(info.stats.lastCheckpointedEventRevision).toBe(9n);
      expect(info.settings.checkPointUpperBound).toBe(5);
      await client.appendToStream('durable', ev('After'));
      const again = client.subscribeToPersistentSubscriptionToStream('durable', 'g');
      const a = consume(again);
      await waitFor(() => a.got.length >= 1);
      expect(a.types()).toEqual(['After']);
      await again.unsubscribe();
    } finally {
      await client.dispose();
      await node.close();
    }
  });
});
