/**
 * `npm run bench -- spine`: the ingest → event store → projector → query path.
 *
 *  - HTTP batch ingest: 500-event batches from concurrent clients to `cairn start` (a child process:
 *    API, projector and embedded node together, as users run it) ÷ the raw client appendToStream
 *    rate for the same batches appended the same way (per customer stream, concurrently) to the same
 *    node. p50/p99 request latency reported.
 *  - Projector catch-up over 200k events into the profile read model (SQLite) ÷ the raw client
 *    readAll rate over the same events from the same node, both in this process.
 *  - GET /v1/customers/:id latency at 50 concurrent clients, alone and while ingest runs at half the
 *    maximum sustained HTTP rate measured above (p99 goal < 5 ms under that load).
 */
import { spawn, type ChildProcess } from 'child_process';
import { randomUUID } from 'crypto';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { Agent, request } from 'http';
import { FORWARDS, START } from '@eventstore/db-client';
import { streamFor, toStoredEvent, type EventInput } from '@cairn/domain';
import { CairnEventStore, type EventToAppend } from '@cairn/event-store';
import { ProjectionEngine, profileProjection } from '@cairn/projections';
import { openReadStore } from '@cairn/read-models';
import { startNodeChild } from './children';
import { pacedIngest } from './load';
import { figure, ratio, type BenchFigure, type BenchSuite } from './harness';

const ROOT = resolve(__dirname, '..', '..');
const INGEST_BATCHES = 120;
const BATCH = 500;
const CLIENTS = 8;
const CATCHUP_EVENTS = 200_000;
const GET_REQUESTS = 20_000;
const GET_CLIENTS = 50;

/** A small seeded generator (the same log on every run). */
export function rng(seed: number) {
  let x = seed;
  return (k: number) => ((x = (x * 1103515245 + 12345) % 2147483648), x % k);
}

export function makeInputs(n: number, customers: number, seed: number): EventInput[] {
  const rnd = rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const customerId = `c${rnd(customers)}`;
    const occurredAt = new Date(Date.UTC(2026, 0, 1) + rnd(300 * 86_400) * 1000).toISOString();
    if (rnd(3) === 0) {
      const unit = 100 + rnd(10_000);
      return { id: randomUUID(), type: 'purchase', customerId, occurredAt, channel: 'web', orderId: `o-${seed}-${i}`, currency: 'USD', items: [{ productId: `p${rnd(100)}`, category: 'music', quantity: 1, unitPriceMinor: unit }], totalMinor: unit };
    }
    return { id: randomUUID(), type: 'view', customerId, occurredAt, channel: 'app', productId: `p${rnd(100)}`, category: 'music' };
  });
}

function toAppends(inputs: readonly EventInput[]): EventToAppend[] {
  return inputs.map((input) => ({ id: input.id!, streamId: streamFor(input), event: toStoredEvent(input), metadata: { receivedAt: new Date().toISOString(), correlationId: 'bench' } }));
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface Started {
  proc: ChildProcess;
  url: string;
  connectionString: string;
  stop(): Promise<void>;
}

export function startCairnChild(dataDir: string, adminKey: string, env: Record<string, string> = {}): Promise<Started> {
  return new Promise((resolveStart, reject) => {
    const proc = spawn(process.execPath, [join(ROOT, 'bin', 'cairn.js'), 'start'], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', CAIRN_ESDB_PORT: '0', CAIRN_HOST: '127.0.0.1', CAIRN_DATA_DIR: dataDir, CAIRN_ADMIN_KEY: adminKey, CAIRN_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const url = /Cairn API on (\S+)/.exec(out)?.[1];
      const cs = /Event store: (\S+)/.exec(out)?.[1];
      if (url && cs) {
        resolveStart({
          proc,
          url,
          connectionString: cs,
          stop: () => new Promise<void>((r) => (proc.once('exit', () => r()), proc.kill('SIGTERM'))),
        });
      }
    });
    proc.once('exit', (code) => reject(new Error(`cairn start exited early with ${code}: ${out}`)));
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: 128 });
export function httpCall(url: string, method: string, key: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolveCall, reject) => {
    const req = request(url, { method, agent, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolveCall({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

/** Runs `work` over `items`, `concurrency` at a time. */
export async function pool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await work(items[next++]);
  }));
}

/** GET /v1/customers/:id for each id from GET_CLIENTS concurrent clients: p50, p99 (ms), throughput. */
async function getLatencies(url: string, key: string, ids: readonly string[]): Promise<{ p50: number; p99: number; throughput: number }> {
  const latencies: number[] = [];
  const t0 = process.hrtime.bigint();
  await pool(ids, GET_CLIENTS, async (id) => {
    const s = process.hrtime.bigint();
    const res = await httpCall(`${url}/v1/customers/${id}`, 'GET', key);
    latencies.push(Number(process.hrtime.bigint() - s) / 1e6);
    if (res.status !== 200 && res.status !== 404) throw new Error(`GET answered ${res.status}`);
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), throughput: ids.length / seconds };
}

export const run: BenchSuite = async (log) => {
  const figures: BenchFigure[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-spine-'));
  const key = `bench_${randomUUID()}`;
  const cairn = await startCairnChild(join(dir, 'cairn'), key);
  const store = CairnEventStore.connect(cairn.connectionString);
  try {
    // 1. Raw appendToStream baseline: the same batch shape, appended the way the API appends.
    const rawBatches = Array.from({ length: INGEST_BATCHES }, (_, b) => toAppends(makeInputs(BATCH, 5000, 1000 + b)));
    let t0 = process.hrtime.bigint();
    await pool(rawBatches, CLIENTS, async (batch) => void (await store.append(batch)));
    const rawSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const rawRate = (INGEST_BATCHES * BATCH) / rawSeconds;
    log(`raw appendToStream: ${Math.round(rawRate)} events/s`);

    // 2. HTTP batch ingest of new events of the same shape.
    const httpBatches = Array.from({ length: INGEST_BATCHES }, (_, b) => JSON.stringify({ events: makeInputs(BATCH, 5000, 5000 + b) }));
    const latencies: number[] = [];
    t0 = process.hrtime.bigint();
    await pool(httpBatches, CLIENTS, async (body) => {
      const s = process.hrtime.bigint();
      const res = await httpCall(`${cairn.url}/v1/events`, 'POST', key, body);
      latencies.push(Number(process.hrtime.bigint() - s) / 1e6);
      if (res.status !== 202) throw new Error(`ingest answered ${res.status}: ${res.body.slice(0, 200)}`);
    });
    const httpSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const httpRate = (INGEST_BATCHES * BATCH) / httpSeconds;
    latencies.sort((a, b) => a - b);
    figures.push(ratio(`HTTP ingest, ${BATCH}-event batches, ${CLIENTS} clients`, httpRate, 'events/s', { name: 'raw appendToStream, same batches', value: rawRate }, { atLeast: 0.8 }));
    figures.push(figure('HTTP ingest request latency p50', percentile(latencies, 50), 'ms'));
    figures.push(figure('HTTP ingest request latency p99', percentile(latencies, 99), 'ms'));

    // 2b. Request latency at half the maximum rate just measured (the "p99 at half load").
    const halfLoad = pacedIngest(cairn.url, key, httpRate / 2, (b) => makeInputs(BATCH, 5000, 10_000 + b));
    await new Promise((r) => setTimeout(r, 15_000)); // a fixed measuring window, not a wait for a condition
    const half = await halfLoad.stop();
    figures.push(figure(`HTTP ingest request latency p99 at half that rate (${Math.round(half.events / half.seconds)} events/s)`, percentile(half.latenciesMs, 99), 'ms', { atMost: 50 }));
    figures.push(figure('HTTP ingest request latency p50 at half that rate', percentile(half.latenciesMs, 50), 'ms'));

    // 3. GET /v1/customers/:id at 50 concurrent clients, after the projector has caught up: alone,
    // then while ingest runs at half the maximum sustained rate just measured (new events for the
    // same interleaved customers, so the rows read are being rewritten).
    const head = await store.lastCairnEvent();
    for (let i = 0; i < 600; i++) {
      const res = await httpCall(`${cairn.url}/v1/customers/c1?minPosition=${head!.position}`, 'GET', key);
      if (res.status === 200) break;
    }
    const ids = Array.from({ length: GET_REQUESTS }, (_, i) => `c${(i * 7919) % 5000}`);
    const idle = await getLatencies(cairn.url, key, ids);
    figures.push(figure(`GET /v1/customers/:id p50, ${GET_CLIENTS} concurrent clients, no ingest`, idle.p50, 'ms'));
    figures.push(figure(`GET /v1/customers/:id p99, ${GET_CLIENTS} concurrent clients, no ingest`, idle.p99, 'ms'));
    const halfRate = httpRate / 2;
    log(`GETs while ingesting at ${Math.round(halfRate)} events/s (half of ${Math.round(httpRate)})`);
    const ingest = pacedIngest(cairn.url, key, halfRate, (b) => makeInputs(BATCH, 5000, 20_000 + b));
    await new Promise((r) => setTimeout(r, 2000)); // the ingest and the projector at pace before measuring
    const loaded = await getLatencies(cairn.url, key, ids);
    const during = await ingest.stop();
    log(`ingest during the GETs: ${Math.round(during.events / during.seconds)} events/s (${during.behind} ticks behind pace)`);
    figures.push(figure(`GET /v1/customers/:id p99, ${GET_CLIENTS} concurrent clients, ingest at half rate`, loaded.p99, 'ms', { atMost: 5 }));
    figures.push(figure(`GET /v1/customers/:id p50, ${GET_CLIENTS} concurrent clients, ingest at half rate`, loaded.p50, 'ms'));
    figures.push(figure('GET /v1/customers/:id throughput, ingest at half rate', loaded.throughput, 'req/s'));
    figures.push(figure('ingest achieved during the GETs (target: half the maximum)', during.events / during.seconds, 'events/s', { atLeast: halfRate * 0.9 }));
  } finally {
    await store.close();
    await cairn.stop();
  }

  // 4. Projector catch-up over 200k events vs raw readAll, on a node child of its own.
  const esdbDir = join(dir, 'esdb');
  const node = await startNodeChild(esdbDir);
  const events = CairnEventStore.connect(node.connectionString);
  try {
    log(`appending ${CATCHUP_EVENTS} events for the catch-up...`);
    const all = toAppends(makeInputs(CATCHUP_EVENTS, 20_000, 77));
    let head = 0n;
    await pool(Array.from({ length: Math.ceil(all.length / 1000) }, (_, i) => all.slice(i * 1000, (i + 1) * 1000)), 4, async (batch) => {
      const p = await events.append(batch);
      if (p && p.commit > head) head = p.commit;
    });

    let t0 = process.hrtime.bigint();
    let count = 0;
    // Unfiltered (the client's readAll sends no filter): Cairn's events picked here, as the projector's subscription filter does.
    for await (const r of events.client.readAll({ direction: FORWARDS, fromPosition: START, maxCount: CATCHUP_EVENTS * 2 })) if (r.event?.type.startsWith('cairn.')) count++;
    const readSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const readRate = count / readSeconds;
    log(`raw readAll: ${Math.round(readRate)} events/s over ${count} events`);

    const readStore = await openReadStore(`sqlite:${join(dir, 'catchup.sqlite')}`);
    const projector = new ProjectionEngine(events, readStore, [profileProjection({ currency: 'USD' })], { batchSize: 5000, batchMs: 20 });
    t0 = process.hrtime.bigint();
    await projector.start();
    if (!(await projector.waitFor(head, 600_000))) throw new Error('projector did not catch up');
    const catchupSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    await projector.stop();
    await readStore.close();
    figures.push(ratio(`projector catch-up, ${CATCHUP_EVENTS} events → profiles (SQLite)`, CATCHUP_EVENTS / catchupSeconds, 'events/s', { name: 'raw client readAll, same events', value: readRate }, { atLeast: 0.9 }));
  } finally {
    await events.close();
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
};
