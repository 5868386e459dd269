/**
 * `npm run bench -- webhooks`: what webhooks cost, each figure against a baseline of the same run.
 *
 * - Delivery: 5,000 queued deliveries (distinct customers, so 16 go at a time, as the worker
 *   sends them) through `WebhookDeliveries` — signed, leased, each attempt and outcome written to
 *   the SQLite read store — to a loopback receiver answering 200 at once, against the receiver's
 *   own request rate: the same receiver, the same bodies, 16 plain POSTs in flight.
 * - Enqueue: 20,000 `cairn.segment.entered.v1` events in the log through `WebhookOutbox` (the
 *   checkpointed subscription: one outbox row per event for one matching endpoint, cursor in the
 *   same transaction), against the same subscription reading the same events and writing nothing;
 *   and the outbox with no endpoint registered (cursor writes only).
 * - The projector beside it: the engine catching up 20,000 ingest events into profiles on a fresh
 *   read store, alone and with the outbox enqueueing the 20,000 segment events on the same
 *   store at the same time (on SQLite they share its one writer).
 *
 * Each figure on SQLite, then on PostgreSQL (a database of its own on CAIRN_BENCH_PG, default
 * postgres://postgres@127.0.0.1:5432/test; skipped when unreachable), against baselines of the same
 * run and store. CAIRN_BENCH_WEBHOOKS_SCALE (default 1) multiplies every size: 0.2 for a short run.
 */
import { Client } from 'pg';
import { createServer, request, type Server } from 'http';
import type { AddressInfo } from 'net';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { randomUUID } from 'crypto';
import { START, eventTypeFilter, jsonEvent } from '@eventstore/db-client';
import { startEmbeddedNode } from '@cairn/esdb-embedded';
import { CairnEventStore } from '@cairn/event-store';
import { ProjectionEngine, SEGMENT_ENTERED, WebhookDeliveries, WebhookOutbox, createWebhook, padPosition, profileProjection, webhookDb } from '@cairn/projections';
import { streamFor, toStoredEvent, type EventInput } from '@cairn/domain';
import { openReadStore, type ReadStore } from '@cairn/read-models';
import { ratio, type BenchFigure, type BenchSuite } from './harness';

const SCALE = Number(process.env.CAIRN_BENCH_WEBHOOKS_SCALE ?? '1');
const sized = (n: number, step: number) => Math.max(step, Math.round((n * SCALE) / step) * step);
const DELIVERIES = sized(5000, 100);
const IN_FLIGHT = 16;
const SOURCE_EVENTS = sized(20_000, 500);
const PG = process.env.CAIRN_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

const body = (i: number) => JSON.stringify({ type: 'segment.entered', timestamp: new Date().toISOString(), data: { customerId: `c${i}`, segmentId: 'b3f1c2d4-0000-4000-8000-000000000001', segmentVersion: 1, at: new Date().toISOString() } });

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 600_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The receiver's own rate: `IN_FLIGHT` plain POSTs at a time, nothing else. */
async function plainPosts(url: string, n: number): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  const worker = async () => {
    while (next < n) {
      const payload = body(next++);
      await new Promise<void>((resolve, reject) => {
        const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        });
        req.on('error', reject);
        req.end(payload);
      });
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return n / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function deliveries(store: ReadStore, url: string, log: (l: string) => void): Promise<number> {
  const { webhook } = await createWebhook(store, { url, kinds: ['segment.entered'] }, new Date(0));
  const now = new Date().toISOString();
  const db = webhookDb(store.db);
  const rows = Array.from({ length: DELIVERIES }, (_, i) => ({
    id: `msg_${randomUUID().replace(/-/g, '')}`,
    webhook_id: webhook.id,
    source_event_id: randomUUID(),
    position: padPosition(BigInt(i + 1)),
    customer_id: `c${i}`,
    kind: 'segment.entered',
    payload: body(i),
    status: 'pending',
    attempts: 0,
    next_attempt_at: now,
    created_at: now,
    retry_from: now,
    delivered_at: null,
  }));
  for (let i = 0; i < rows.length; i += 200) await db.insertInto('webhook_deliveries').values(rows.slice(i, i + 200)).execute();
  const worker = new WebhookDeliveries(store, { policy: 'dev', retryBaseMs: 1000, retryForMs: 86_400_000, timeoutMs: 10_000, pollMs: 50, concurrency: IN_FLIGHT });
  const started = process.hrtime.bigint();
  worker.start();
  await until('every delivery delivered', () => worker.counts.delivered >= DELIVERIES);
  const rate = DELIVERIES / (Number(process.hrtime.bigint() - started) / 1e9);
  await worker.stop();
  log(`delivered ${worker.counts.delivered} in ${worker.counts.attempts} attempts`);
  await db.deleteFrom('webhooks').execute();
  return rate;
}

/** The same filtered subscription the outbox runs, reading the events and writing nothing. */
async function subscriptionRead(events: CairnEventStore, n: number): Promise<number> {
  const started = process.hrtime.bigint();
  const sub = events.client.subscribeToAll({ fromPosition: START, filter: eventTypeFilter({ prefixes: [SEGMENT_ENTERED] }) });
  let seen = 0;
  for await (const r of sub) {
    if (r.event && ++seen >= n) break;
  }
  await sub.unsubscribe();
  return n / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function outboxRate(store: ReadStore, events: CairnEventStore, n: number, withEndpoint: boolean): Promise<number> {
  const db = webhookDb(store.db);
  await db.deleteFrom('webhook_cursor').execute();
  await db.deleteFrom('webhook_deliveries').execute();
  await db.deleteFrom('webhooks').execute();
  if (withEndpoint) await createWebhook(store, { url: 'http://127.0.0.1:9/unused', kinds: ['segment.entered'] }, new Date(0));
  const outbox = new WebhookOutbox(store, events);
  const started = process.hrtime.bigint();
  outbox.start();
  await until('every source event committed', () => outbox.processed >= n);
  const rate = n / (Number(process.hrtime.bigint() - started) / 1e9);
  await outbox.stop();
  const queued = (await db.selectFrom('webhook_deliveries').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;
  if (Number(queued) !== (withEndpoint ? n : 0)) throw new Error(`expected ${withEndpoint ? n : 0} outbox rows, found ${queued}`);
  return rate;
}

const CATALOGUE_EVENTS = sized(20_000, 1000);

/** The engine's catch-up rate into profiles on a fresh store, with the outbox enqueueing beside it or not. */
async function projectorRate(open: (name: string) => Promise<ReadStore>, events: CairnEventStore, head: bigint, name: string, withOutbox: boolean): Promise<number> {
  const store = await open(name);
  const outbox = new WebhookOutbox(store, events);
  if (withOutbox) {
    await createWebhook(store, { url: 'http://127.0.0.1:9/unused', kinds: ['segment.entered'] }, new Date(0));
    outbox.start();
  }
  const engine = new ProjectionEngine(events, store, [profileProjection({ currency: 'USD' })], { batchSize: 1000, batchMs: 20 });
  const started = process.hrtime.bigint();
  await engine.start();
  if (!(await engine.waitFor(head, 600_000))) throw new Error('projector did not catch up');
  const rate = CATALOGUE_EVENTS / (Number(process.hrtime.bigint() - started) / 1e9);
  await engine.stop();
  if (withOutbox) {
    await until('the outbox to finish too', () => outbox.processed >= SOURCE_EVENTS);
    await outbox.stop();
  }
  await store.close();
  return rate;
}

export const run: BenchSuite = async (log) => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-webhooks-'));
  const figures: BenchFigure[] = [];
  try {
    figures.push(...(await measure(log, 'SQLite', async (name) => openReadStore(`sqlite:${join(dir, `${name}.sqlite`)}`))));
    const db = `cairn_bench_webhooks_${process.pid}`;
    const admin = new Client({ connectionString: PG });
    try {
      await admin.connect();
    } catch (err) {
      log(`PostgreSQL at ${PG} unreachable (${(err as Error).message}): PostgreSQL figures skipped`);
      return figures;
    }
    try {
      await admin.query(`create database ${db}`);
      const url = new URL(PG);
      url.pathname = `/${db}`;
      const pg = new Client({ connectionString: url.toString() });
      await pg.connect();
      try {
        figures.push(
          ...(await measure(log, 'PostgreSQL', async (name) => {
            const schema = `s_${name.replace(/[^a-z0-9]/g, '_')}`;
            await pg.query(`create schema if not exists ${schema}`);
            return openReadStore(`${url.toString()}?options=${encodeURIComponent(`-c search_path=${schema}`)}`);
          })),
        );
      } finally {
        await pg.end();
      }
    } finally {
      await admin.query(`drop database if exists ${db} with (force)`).catch(() => undefined);
      await admin.end();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
};

async function measure(log: (line: string) => void, storeName: string, open: (name: string) => Promise<ReadStore>): Promise<BenchFigure[]> {
  const node = await startEmbeddedNode({ port: 0 });
  const events = CairnEventStore.connect(node.connectionString);
  const store = await open('read_models');
  let received = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(200);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const figures: BenchFigure[] = [];
  try {
    await plainPosts(url, 1000); // warm-up
    const plain = await plainPosts(url, DELIVERIES);
    const delivered = await deliveries(store, url, log);
    log(`receiver answered ${received} requests`);
    figures.push(ratio('webhook deliveries', delivered, 'deliveries/s', { name: "receiver's own rate (plain POSTs)", value: plain }));

    log(`${storeName}: appending ${SOURCE_EVENTS} segment.entered events`);
    for (let i = 0; i < SOURCE_EVENTS; i += 500) {
      await events.client.appendToStream(
        `segment-members-bench-${i / 500}`,
        Array.from({ length: 500 }, (_, j) => jsonEvent({ id: randomUUID(), type: SEGMENT_ENTERED, data: { segmentId: 'b3f1c2d4-0000-4000-8000-000000000001', segmentVersion: 1, customerId: `c${i + j}`, at: new Date().toISOString() } })),
      );
    }
    // The read first and last (the first pass over the log is a cold one): the faster one is the baseline.
    const readFirst = await subscriptionRead(events, SOURCE_EVENTS);
    const cursorOnly = await outboxRate(store, events, SOURCE_EVENTS, false);
    const enqueue = await outboxRate(store, events, SOURCE_EVENTS, true);
    const readLast = await subscriptionRead(events, SOURCE_EVENTS);
    const read = Math.max(readFirst, readLast);
    log(`subscription read: ${Math.round(readFirst)} then ${Math.round(readLast)} events/s`);
    figures.push(ratio('outbox, no endpoint (cursor writes only)', cursorOnly, 'events/s', { name: 'subscription read alone', value: read }));
    figures.push(ratio('outbox, one matching endpoint (a row per event)', enqueue, 'events/s', { name: 'subscription read alone', value: read }));

    log(`appending ${CATALOGUE_EVENTS} ingest events`);
    let head = 0n;
    for (let i = 0; i < CATALOGUE_EVENTS; i += 1000) {
      const batch = Array.from({ length: 1000 }, (_, j): EventInput => {
        const n = i + j;
        const customerId = `c${n % 2000}`;
        const occurredAt = new Date(Date.UTC(2026, 0, 1) + n * 60_000).toISOString();
        return n % 2 === 0
          ? { type: 'view', customerId, occurredAt, channel: 'web', productId: `p${n % 50}` }
          : { type: 'purchase', customerId, occurredAt, channel: 'web', orderId: `o${n}`, currency: 'USD', items: [{ productId: `p${n % 50}`, quantity: 1, unitPriceMinor: 1000 }], totalMinor: 1000 };
      });
      const p = await events.append(batch.map((input) => ({ id: randomUUID(), streamId: streamFor(input), event: toStoredEvent(input), metadata: { receivedAt: new Date().toISOString(), correlationId: 'bench' } })));
      if (p && p.commit > head) head = p.commit;
    }
    const alone1 = await projectorRate(open, events, head, 'alone_1', false);
    const beside = await projectorRate(open, events, head, 'beside', true);
    const alone2 = await projectorRate(open, events, head, 'alone_2', false);
    log(`projector alone: ${Math.round(alone1)} then ${Math.round(alone2)} events/s`);
    figures.push(ratio('projector catch-up with the outbox enqueueing on the same store', beside, 'events/s', { name: 'projector alone (faster of two runs)', value: Math.max(alone1, alone2) }));
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
    await store.close();
    await events.client.dispose();
    await node.close();
  }
  return figures.map((f) => ({ ...f, name: `${f.name} [${storeName}]` }));
}
