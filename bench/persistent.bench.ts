/**
 * `npm run bench -- persistent`: a persistent-subscription consumer group of 4 against a catch-up subscription
 * on the same events, both through the real client from the embedded node (in a child process).
 *
 *  - baseline: `subscribeToStream` from the start until every event arrived;
 *  - group: a RoundRobin group on the same stream from the start, 4 consumers in this process, each acking
 *    what it received (acks batched per consumer per turn of the event loop, as a consumer that handles a
 *    burst would; and, as a second figure, one `ack(e)` call per event); the rate counts until every event
 *    was received, and the group's checkpoint is then checked to reach the last event (everything was
 *    acknowledged, nothing lost).
 * Best of 3, interleaved, each run on a fresh group.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  EventStoreDBClient,
  ROUND_ROBIN,
  START,
  jsonEvent,
  persistentSubscriptionToStreamSettingsFromDefaults,
  type PersistentSubscriptionToStream,
  type PersistentSubscriptionToStreamResolvedEvent,
} from '@eventstore/db-client';
import { startNodeChild } from './children';
import { figure, ratio, type BenchFigure, type BenchSuite } from './harness';

const EVENTS = 100_000;
const CONSUMERS = 4;
const BUFFER = Number(process.env.PS_BENCH_BUFFER ?? 256);
const STREAM = 'ps-bench';

async function catchUpRate(client: EventStoreDBClient): Promise<number> {
  const t0 = process.hrtime.bigint();
  const sub = client.subscribeToStream(STREAM, { fromRevision: START });
  let n = 0;
  for await (const _ of sub) {
    if (++n === EVENTS) break;
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await sub.unsubscribe();
  return n / secs;
}

async function groupRate(client: EventStoreDBClient, group: string, batchAcks: boolean): Promise<number> {
  await client.createPersistentSubscriptionToStream(
    STREAM,
    group,
    persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START, consumerStrategyName: ROUND_ROBIN }),
  );
  const t0 = process.hrtime.bigint();
  let received = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => {
    done = r;
  });
  const subs: PersistentSubscriptionToStream[] = [];
  for (let i = 0; i < CONSUMERS; i++) {
    const sub = client.subscribeToPersistentSubscriptionToStream(STREAM, group, { bufferSize: BUFFER });
    let pending: PersistentSubscriptionToStreamResolvedEvent[] = [];
    sub.on('data', (e: PersistentSubscriptionToStreamResolvedEvent) => {
      if (!batchAcks) void sub.ack(e);
      else if (pending.length === 0) {
        setImmediate(() => {
          const batch = pending;
          pending = [];
          void sub.ack(...batch);
        });
      }
      if (batchAcks) pending.push(e);
      if (++received === EVENTS) done();
    });
    subs.push(sub);
  }
  await all;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  // Everything acknowledged: the checkpoint reaches the last event (checkPointAfter is 2 s by default).
  const deadline = Date.now() + 30_000;
  for (;;) {
    const info = await client.getPersistentSubscriptionToStreamInfo(STREAM, group);
    if (info.stats.lastCheckpointedEventRevision === BigInt(EVENTS - 1)) break;
    if (Date.now() > deadline) throw new Error(`group ${group}: checkpoint stuck at ${info.stats.lastCheckpointedEventRevision}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await Promise.all(subs.map((s) => s.unsubscribe()));
  await client.deletePersistentSubscriptionToStream(STREAM, group);
  return received / secs;
}

export const run: BenchSuite = async (log) => {
  const figures: BenchFigure[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'cairn-ps-bench-'));
  const node = await startNodeChild(join(dir, 'data'));
  const client = EventStoreDBClient.connectionString(node.connectionString);
  try {
    log(`appending ${EVENTS.toLocaleString('en-US')} events to one stream`);
    for (let i = 0; i < EVENTS; i += 1000) {
      await client.appendToStream(
        STREAM,
        Array.from({ length: 1000 }, (_, j) => jsonEvent({ type: 'ItemAdded', data: { orderId: `order-${(i + j) % 5000}`, sku: `sku-${(i + j) % 97}`, qty: 1, price: 1999 } })),
      );
    }
    log(`catch-up subscription vs a group of ${CONSUMERS} (bufferSize ${BUFFER}), best of 3 each, interleaved`);
    let baseline = 0;
    let group = 0;
    let single = 0;
    for (let i = 0; i < 3; i++) {
      baseline = Math.max(baseline, await catchUpRate(client));
      group = Math.max(group, await groupRate(client, `bench-${i}`, true));
      single = Math.max(single, await groupRate(client, `bench-single-${i}`, false));
      log(`run ${i + 1}: catch-up ${Math.round(baseline)}, group ${Math.round(group)}, group acking each event ${Math.round(single)} events/s (best so far)`);
    }
    figures.push(figure('catch-up subscription, one consumer', baseline, 'events/s'));
    figures.push(
      ratio(`persistent subscription, group of ${CONSUMERS} (RoundRobin, acks batched)`, group, 'events/s', { name: 'catch-up subscription', value: baseline }, { atLeast: 0.8 }),
    );
    figures.push(ratio(`persistent subscription, group of ${CONSUMERS}, one ack call per event`, single, 'events/s', { name: 'catch-up subscription', value: baseline }));
  } finally {
    await client.dispose();
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
};
