/**
 * `npm run bench -- esdb`: the embedded EventStoreDB-protocol node, measured through the real client.
 *
 * The node (and the replay baseline) run in child processes so the client process measures only the
 * client's own work, as it would against a real EventStoreDB, and so the node's RSS can be sampled alone.
 *
 *  - appends: sequential batches of 100 events; 64 concurrent single-event appenders (durable: WAL, fsync).
 *  - readAll ÷ ceiling: the same events, captured as raw ReadResp bytes and served by a trivial replay server,
 *    give the client's decode ceiling; the node's readAll is reported as a ratio of it.
 *  - slow subscriber: a 1M-event store, a $all subscriber consuming slowly; the node's peak RSS is sampled.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as grpc from '@grpc/grpc-js';
import { EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import * as streamsPb from '@eventstore/db-client/generated/streams_pb';
import * as sharedPb from '@eventstore/db-client/generated/shared_pb';
import { startChild, startNodeChild } from './children';
import { figure, ratio, type BenchFigure, type BenchSuite } from './harness';

const READ_EVENTS = 100_000;
const BIG_STORE = 1_000_000;

/** A trivial replay server: answers every Read with the captured frames, nothing else. */
const REPLAY_SCRIPT = `
const fs = require('fs');
const grpc = require('@grpc/grpc-js');
const { StreamsService } = require('@eventstore/db-client/generated/streams_grpc_pb');
const raw = fs.readFileSync(process.argv[1]);
const frames = [];
for (let off = 0; off < raw.length; ) { const n = raw.readUInt32LE(off); frames.push(raw.subarray(off + 4, off + 4 + n)); off += 4 + n; }
const def = { ...StreamsService, read: { ...StreamsService.read, responseSerialize: (b) => b } };
const server = new grpc.Server();
server.addService(def, {
  read: async (call) => {
    for (const f of frames) {
      if (!call.write(f)) await new Promise((r) => call.once('drain', r));
    }
    call.end();
  },
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  process.stdout.write('esdb://127.0.0.1:' + port + '?tls=false\\n');
  process.on('SIGTERM', () => process.exit(0));
});`;

function payload(i: number) {
  return { orderId: `order-${i % 5000}`, sku: `sku-${i % 97}`, qty: (i % 7) + 1, price: 1999, currency: 'EUR', at: '2024-01-01T00:00:00Z' };
}

async function timeReadAll(client: EventStoreDBClient, expected: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  let n = 0;
  for await (const _ of client.readAll({ maxCount: expected })) n++;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (n !== expected) throw new Error(`readAll returned ${n} events, expected ${expected}`);
  return n / secs;
}

/** Reads $all as raw ReadResp bytes (no decoding) — exactly what the node sends. */
function captureFrames(connectionString: string, count: number): Promise<Buffer[]> {
  const target = connectionString.replace(/^esdb:\/\//, '').replace(/\?.*$/, '');
  const client = new grpc.Client(target, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 17 * 1024 * 1024 });
  const req = new streamsPb.ReadReq();
  const o = new streamsPb.ReadReq.Options();
  const all = new streamsPb.ReadReq.Options.AllOptions();
  all.setStart(new sharedPb.Empty());
  o.setAll(all);
  o.setCount(String(count));
  o.setNoFilter(new sharedPb.Empty());
  const uuid = new streamsPb.ReadReq.Options.UUIDOption();
  uuid.setString(new sharedPb.Empty());
  o.setUuidOption(uuid);
  req.setOptions(o);
  const frames: Buffer[] = [];
  return new Promise((res, rej) => {
    const call = client.makeServerStreamRequest(
      '/event_store.client.streams.Streams/Read',
      (r: streamsPb.ReadReq) => Buffer.from(r.serializeBinary()),
      (b: Buffer) => b,
      req,
    );
    call.on('data', (b: Buffer) => frames.push(b));
    call.on('error', rej);
    call.on('end', () => {
      client.close();
      res(frames);
    });
  });
}

export const run: BenchSuite = async (log) => {
  const figures: BenchFigure[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'cairn-esdb-bench-'));
  let node = await startNodeChild(join(dir, 'data'));
  let client = EventStoreDBClient.connectionString(node.connectionString);
  try {
    // --- appends, batches of 100
    log('appending 300 batches of 100 events');
    let t0 = Date.now();
    for (let b = 0; b < 300; b++) {
      await client.appendToStream(`batch-${b % 50}`, Array.from({ length: 100 }, (_, i) => jsonEvent({ type: 'ItemAdded', data: payload(b * 100 + i) })));
    }
    figures.push(figure('append, batches of 100 (durable)', 30_000 / ((Date.now() - t0) / 1000), 'events/s', { atLeast: 20_000 }));

    // --- 64 concurrent single-event appenders
    log('64 concurrent single-event appenders × 150');
    t0 = Date.now();
    await Promise.all(
      Array.from({ length: 64 }, async (_, w) => {
        for (let i = 0; i < 150; i++) await client.appendToStream(`single-${w}`, jsonEvent({ type: 'Clicked', data: payload(i) }));
      }),
    );
    figures.push(figure('append, 64 concurrent single-event appenders (durable)', 9600 / ((Date.now() - t0) / 1000), 'events/s', { atLeast: 5_000 }));

    // --- fill up to READ_EVENTS and measure readAll against the replay ceiling
    let total = 30_000 + 9600;
    const fill = async (upTo: number) => {
      const writers = 2;
      let next = total;
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          while (next < upTo) {
            const n = Math.min(1000, upTo - next);
            next += n;
            await client.appendToStream(`fill-${w}-${next % 1000}`, Array.from({ length: n }, (_, i) => jsonEvent({ type: 'ItemAdded', data: payload(next + i) })));
          }
        }),
      );
      total = upTo;
    };
    await fill(READ_EVENTS);
    log(`capturing ${READ_EVENTS} raw frames for the replay baseline`);
    const frames = await captureFrames(node.connectionString, READ_EVENTS);
    const framesFile = join(dir, 'frames.bin');
    writeFileSync(
      framesFile,
      Buffer.concat(
        frames.flatMap((f) => {
          const len = Buffer.alloc(4);
          len.writeUInt32LE(f.length);
          return [len, f];
        }),
      ),
    );
    const replay = await startChild(REPLAY_SCRIPT, [framesFile]);
    const replayClient = EventStoreDBClient.connectionString(replay.connectionString);
    log('readAll: replay ceiling vs node, best of 3 each (interleaved)');
    let ceiling = 0;
    let nodeRate = 0;
    for (let i = 0; i < 3; i++) {
      ceiling = Math.max(ceiling, await timeReadAll(replayClient, READ_EVENTS));
      nodeRate = Math.max(nodeRate, await timeReadAll(client, READ_EVENTS));
    }
    await replayClient.dispose();
    await replay.stop();
    figures.push(figure('client decode ceiling (replay server)', ceiling, 'events/s'));
    figures.push(ratio('readAll through the client from the node', nodeRate, 'events/s', { name: 'replay ceiling', value: ceiling }, { atLeast: 0.8 }));

    // --- slow subscriber over a 1M-event store
    log(`filling the store to ${BIG_STORE.toLocaleString('en-US')} events`);
    t0 = Date.now();
    const before = total;
    await fill(BIG_STORE);
    figures.push(figure('append, batches of 1000 (2 writers, durable)', (BIG_STORE - before) / ((Date.now() - t0) / 1000), 'events/s'));
    figures.push(figure('node RSS after writing 1M events', node.rssMb(), 'MB'));
    // The subscriber figure is taken on a node freshly opened over the 1M-event store, so it shows what serving
    // a slow reader costs rather than what the write phase left in the heap.
    await client.dispose();
    await node.stop();
    t0 = Date.now();
    node = await startNodeChild(join(dir, 'data'));
    figures.push(figure('node start over 1M events (process spawn to ready)', Date.now() - t0, 'ms'));
    client = EventStoreDBClient.connectionString(node.connectionString);
    log('slow $all subscriber for 10 s, sampling the node RSS');
    const rssBefore = node.rssMb();
    let peak = rssBefore;
    const sampler = setInterval(() => {
      peak = Math.max(peak, node.rssMb());
    }, 100);
    const sub = client.subscribeToAll({ fromPosition: 'start' });
    let seen = 0;
    const until = Date.now() + 10_000;
    for await (const _ of sub) {
      seen++;
      if (seen % 100 === 0) await new Promise((r) => setTimeout(r, 5));
      if (Date.now() > until) break;
    }
    await sub.unsubscribe();
    clearInterval(sampler);
    peak = Math.max(peak, node.rssMb());
    log(`slow subscriber consumed ${seen} events; node RSS ${rssBefore.toFixed(0)} MB before, ${peak.toFixed(0)} MB peak`);
    figures.push(figure('node RSS, slow subscriber over 1M events (peak)', peak, 'MB', { atMost: 200 }));
  } finally {
    await client.dispose();
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
};
