/**
 * `npm run bench -- rebuild`: a rebuild of every registered projection together, against the raw
 * `readAll` rate of the same log in the same run, and the memory of the rebuild.
 *
 * The embedded node runs in a child process (as a real EventStoreDB would be another process), and
 * the log is generated and appended by another child, so this process's RSS is the rebuild's own:
 * projections, shadow store, client decoding (in the history reader's worker thread). The
 * PostgreSQL rebuild runs right after the SQLite one, before the replays, for the same reason.
 *
 *  - readAll: the log read forwards through the real client, Cairn's events picked by type prefix (as
 *    the rebuild's reader does; the client's readAll sends no server-side filter), nothing else done with them: the ceiling;
 *  - rebuild: RebuildJob over `cairnProjections(...)` into a fresh SQLite read store (shadow file,
 *    then the switch), events per second from start to switched, and for the build phase alone;
 *  - machinery: the same rebuild with a projection that does nothing, against the same baseline;
 *  - memory: peak RSS during the rebuild, and its growth from 20% of the build to the switch (flat = small).
 *
 *  - the same rebuild into PostgreSQL (a database of its own on CAIRN_BENCH_PG), and replays: as-of
 *    (all projections) against the rebuild's rate, what-if (two builds, one read) against two plain ones.
 *
 * Events: CAIRN_BENCH_REBUILD_EVENTS (default 1,000,000) over CAIRN_BENCH_REBUILD_CUSTOMERS (default
 * 100,000) customers, a commerce mix, customers interleaved as a shop's log is.
 */
import { spawn } from 'child_process';
import { randomUUID } from 'crypto';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { FORWARDS, START } from '@eventstore/db-client';
import { CAIRN_EVENT_TYPE_PREFIX, streamFor, toStoredEvent, type EventInput } from '@cairn/domain';
import { CairnEventStore, type EventToAppend } from '@cairn/event-store';
import { RebuildJob, cairnProjections, factsProjection, runReplay } from '@cairn/projections';
import { openReadStore } from '@cairn/read-models';
import { Client } from 'pg';
import { startNodeChild } from './children';
import { figure, ratio, type BenchFigure, type BenchSuite } from './harness';

export const EVENTS = Number(process.env.CAIRN_BENCH_REBUILD_EVENTS ?? 1_000_000);
export const CUSTOMERS = Number(process.env.CAIRN_BENCH_REBUILD_CUSTOMERS ?? 100_000);
/** The rebuild's memory budget (RebuildOptions.memoryBudgetMb; unset: its default). */
const PG = process.env.CAIRN_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const MEMORY_MB = process.env.CAIRN_BENCH_REBUILD_MEMORY_MB ? Number(process.env.CAIRN_BENCH_REBUILD_MEMORY_MB) : undefined;


function rssMb(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.memoryUsage().rss / 1048576;
}

function generate(from: number, count: number, CUSTOMERS: number): EventToAppend[] {
  const out: EventToAppend[] = [];
  for (let i = from; i < from + count; i++) {
    // mulberry32, seeded per event: events are independent of batching, and customers interleave
    // (an LCG seeded with i * k drew only ~3% of the customers it was asked for).
    let a = (Math.imul(i, 0x9e3779b1) + 0x7f4a7c15) >>> 0;
    const rnd = (n: number) => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    const customerId = `c${rnd(CUSTOMERS)}`;
    const occurredAt = new Date(Date.UTC(2025, 0, 1) + rnd(600) * 86_400_000 + rnd(86_400) * 1000).toISOString();
    const kind = rnd(20);
    const price = 500 + rnd(20_000);
    const input: EventInput =
      kind < 10
        ? { type: 'view', customerId, occurredAt, channel: 'web', productId: `p${rnd(500)}`, category: `cat${rnd(20)}` }
        : kind < 15
          ? { type: 'purchase', customerId, occurredAt, channel: 'app', orderId: `o${i}`, currency: 'USD', items: [{ productId: `p${rnd(500)}`, category: `cat${rnd(20)}`, quantity: 1, unitPriceMinor: price }], totalMinor: price }
          : kind < 16
            ? { type: 'return', customerId, occurredAt, channel: 'web', orderId: `o${i - 20}`, items: [{ productId: 'p1', quantity: 1 }], refundMinor: rnd(500), currency: 'USD' }
            : kind < 18
              ? { type: 'review', customerId, occurredAt, channel: 'email', productId: `p${rnd(500)}`, rating: 1 + rnd(5) }
              : kind < 19
                ? { type: 'referral', customerId, occurredAt, channel: 'social', referralCode: `R${rnd(1000)}` }
                : { type: 'identify', customerId, anonymousId: `a${rnd(CUSTOMERS * 2)}`, occurredAt, channel: 'web', traits: { country: 'DE' } };
    out.push({ id: randomUUID(), streamId: streamFor(input), event: toStoredEvent(input), metadata: { receivedAt: occurredAt, correlationId: 'bench' } });
  }
  return out;
}

/**
 * Appends the benchmark's log (run in a child process by `appendInChild`, so the V8 heap that
 * generating and appending a million events grows is not counted in the rebuild's RSS).
 */
export async function appendLog(connectionString: string, count: number, customers: number, log: (msg: string) => void): Promise<void> {
  const events = CairnEventStore.connect(connectionString);
  try {
    const BATCH = 2000;
    const inFlight: Promise<unknown>[] = [];
    for (let i = 0; i < count; i += BATCH) {
      inFlight.push(events.append(generate(i, Math.min(BATCH, count - i), customers)));
      if (inFlight.length >= 4) await inFlight.shift();
      if (i % 100_000 === 0 && i > 0) log(`  ${i.toLocaleString('en-US')} appended`);
    }
    await Promise.all(inFlight);
  } finally {
    await events.close();
  }
}

export function appendInChild(connectionString: string, log: (msg: string) => void): Promise<void> {
  const root = resolve(__dirname, '..', '..');
  const script = `require(${JSON.stringify(join(root, 'bin', 'paths'))});
require(${JSON.stringify(join(__dirname, 'rebuild.bench.js'))}).appendLog(process.argv[1], ${EVENTS}, ${CUSTOMERS}, (m) => process.stdout.write(m + '\\n')).then(() => process.exit(0), (e) => { process.stderr.write(String(e && e.stack || e) + '\\n'); process.exit(1); });`;
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, ['-e', script, connectionString], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout!.on('data', (d: Buffer) => d.toString().split('\n').filter(Boolean).forEach((l) => log(l)));
    child.once('exit', (code) => (code === 0 ? ok() : fail(new Error(`appending the log failed (exit ${code})`))));
  });
}

export const run: BenchSuite = async (log) => {
  const figures: BenchFigure[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'cairn-rebuild-bench-'));
  const node = await startNodeChild(join(dir, 'esdb'));
  const events = CairnEventStore.connect(node.connectionString);
  try {
    log(`appending ${EVENTS.toLocaleString('en-US')} events over ${CUSTOMERS.toLocaleString('en-US')} customers`);
    const t0 = Date.now();
    await appendInChild(node.connectionString, log);
    log(`appended in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    // Baseline: the raw filtered readAll, nothing done with the events. Measured right before each
    // compared run: on a shared machine the load changes over minutes.
    const readAllRate = async (): Promise<number> => {
      let n = 0;
      const r0 = process.hrtime.bigint();
      // The client's readAll sends no server-side filter: Cairn's events are picked here, as the rebuild's reader does.
      const read = events.client.readAll({ direction: FORWARDS, fromPosition: START, maxCount: Number.MAX_SAFE_INTEGER });
      for await (const r of read) if (r.event?.type.startsWith(CAIRN_EVENT_TYPE_PREFIX)) n++;
      const readSecs = Number(process.hrtime.bigint() - r0) / 1e9;
      if (n !== EVENTS) throw new Error(`readAll returned ${n} events, expected ${EVENTS}`);
      log(`readAll: ${Math.round(n / readSecs).toLocaleString('en-US')} events/s`);
      return n / readSecs;
    };
    const readRate = await readAllRate();

    // The rebuild of every registered projection together, into a fresh SQLite store.
    const url = `sqlite:${join(dir, 'read-models.sqlite')}`;
    const store = await openReadStore(url);
    const projections = cairnProjections({ currency: 'USD', timezone: 'UTC' });
    log(`rebuilding ${projections.map((p) => `${p.name} v${p.version}`).join(', ')}`);
    const rssBefore = rssMb();
    let peak = rssBefore;
    let at20: number | null = null;
    let buildEnd = 0;
    let lastLog = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb())), 100);
    const b0 = Date.now();
    const job = await RebuildJob.start({ events, live: { store, url } }, projections, {
      memoryBudgetMb: MEMORY_MB,
      onProgress: (s) => {
        const rss = rssMb();
        peak = Math.max(peak, rss);
        if (at20 === null && s.done >= EVENTS * 0.2) at20 = rss;
        if (s.phase === 'switching' && buildEnd === 0) buildEnd = Date.now();
        if (Date.now() - lastLog > 5000 || s.phase !== 'building') {
          lastLog = Date.now();
          const heap = Math.round(process.memoryUsage().heapUsed / 1048576);
          log(`  ${s.phase} ${s.done.toLocaleString('en-US')}/${s.total.toLocaleString('en-US')} ${s.rate.toLocaleString('en-US')} ev/s, RSS ${Math.round(rss)} MB (JS heap ${heap} MB), peak so far ${Math.round(peak)} MB`);
        }
      },
    });
    const status = await job.done;
    clearInterval(sampler);
    const secs = (Date.now() - b0) / 1000;
    if (status.phase !== 'switched') throw new Error(`rebuild ended ${status.phase}: ${status.error}`);
    const buildSecs = ((buildEnd || Date.now()) - b0) / 1000;
    const rssEnd = rssMb();
    await store.close();
    log(`time (ms): ${JSON.stringify(status.timings)}, parked ${JSON.stringify(status.parked)}`);
    log(`rebuild: ${secs.toFixed(1)} s (build ${buildSecs.toFixed(1)} s, switch ${(secs - buildSecs).toFixed(1)} s), peak RSS ${Math.round(peak)} MB`);

    // The same rebuild into PostgreSQL (a database of its own), against readAll measured just before;
    // right after the SQLite one, before the replays (whose output grows this process's heap).
    let pg: { secs: number; readRate: number; peak: number; timings: unknown } | null = null;
    const admin = new Client({ connectionString: PG });
    const pgDb = `cairn_bench_rebuild_${process.pid}`;
    try {
      await admin.connect();
      await admin.query(`create database ${pgDb}`);
      const pgUrl = new URL(PG);
      pgUrl.pathname = `/${pgDb}`;
      const pgReadRate = await readAllRate();
      const pgStore = await openReadStore(pgUrl.toString());
      let pgPeak = rssMb();
      const pgSampler = setInterval(() => (pgPeak = Math.max(pgPeak, rssMb())), 100);
      const g0 = Date.now();
      const pgStatus = await (await RebuildJob.start({ events, live: { store: pgStore, url: pgUrl.toString() } }, cairnProjections({ currency: 'USD', timezone: 'UTC' }), { memoryBudgetMb: MEMORY_MB })).done;
      clearInterval(pgSampler);
      const pgSecs = (Date.now() - g0) / 1000;
      await pgStore.close();
      if (pgStatus.phase !== 'switched') throw new Error(`PostgreSQL rebuild ended ${pgStatus.phase}: ${pgStatus.error}`);
      log(`PostgreSQL rebuild: ${pgSecs.toFixed(1)} s, time (ms) ${JSON.stringify(pgStatus.timings)}, peak RSS ${Math.round(pgPeak)} MB`);
      pg = { secs: pgSecs, readRate: pgReadRate, peak: pgPeak, timings: pgStatus.timings };
    } catch (err) {
      log(`PostgreSQL rebuild skipped or failed: ${(err as Error).message}`);
    } finally {
      await admin.query(`drop database if exists ${pgDb} with (force)`).catch(() => undefined);
      await admin.end().catch(() => undefined);
    }

    // The machinery alone: the same rebuild with a projection that does nothing.
    const noopReadRate = await readAllRate();
    const noopUrl = `sqlite:${join(dir, 'noop.sqlite')}`;
    const noopStore = await openReadStore(noopUrl);
    const n0 = Date.now();
    const noop = await (await RebuildJob.start({ events, live: { store: noopStore, url: noopUrl } }, [factsProjection({ name: 'noop', version: 1, tables: [], rowsOf: () => undefined })], { batchSize: 1000 })).done;
    const noopSecs = (Date.now() - n0) / 1000;
    await noopStore.close();
    if (noop.phase !== 'switched') throw new Error(`no-op rebuild ended ${noop.phase}: ${noop.error}`);
    log(`no-op rebuild: ${noopSecs.toFixed(1)} s`);

    // Replays: as-of (all projections, one scratch store) and what-if (two builds from one read).
    const rules = { currency: 'USD', timezone: 'UTC' };
    const asOf = '2026-01-01T00:00:00Z';
    const p0 = Date.now();
    const plain = await runReplay(events, (r: typeof rules) => cairnProjections(r), rules, { projections: [], asOf });
    const plainSecs = (Date.now() - p0) / 1000;
    log(`replay as of ${asOf}: ${plainSecs.toFixed(1)} s, ${plain.summary.events.included.toLocaleString('en-US')} events included, ${plain.files.size} files`);
    // What-if against a plain replay of the same projections. Profiles and loyalty only: a replay
    // keeps its output files in memory, and three copies of a million analytics rows (baseline,
    // what-if, diff, as CSV and JSON) do not fit a 4 GB heap (a known limit of replays).
    const someProjections = ['profiles', 'loyalty'];
    const s0 = Date.now();
    await runReplay(events, (r: typeof rules) => cairnProjections(r), rules, { projections: someProjections, asOf });
    const someSecs = (Date.now() - s0) / 1000;
    const w0 = Date.now();
    const whatIf = await runReplay(events, (r: typeof rules) => cairnProjections(r), rules, { projections: someProjections, asOf, rules: { sharedDeviceLimit: 1 } });
    const whatIfSecs = (Date.now() - w0) / 1000;
    log(`replay of profiles and loyalty: ${someSecs.toFixed(1)} s; what-if of the same: ${whatIfSecs.toFixed(1)} s, ${whatIf.files.size} files`);

    const base = { name: 'raw readAll (Cairn events, filtered), just before', value: readRate };
    figures.push(figure('share of the build spent folding in memory', (100 * status.timings.foldMs) / 1000 / buildSecs, '%'));
    figures.push(figure('share of the build spent writing the shadow', (100 * status.timings.writeMs) / 1000 / buildSecs, '%'));
    figures.push(figure('switch (ms)', status.timings.switchMs, 'ms'));
    figures.push(ratio('rebuild machinery alone (a no-op projection)', EVENTS / noopSecs, 'events/s', { name: 'raw readAll, measured just before', value: noopReadRate }, { atLeast: 0.9 }));
    figures.push(ratio(`rebuild all projections (${projections.length}), start → switched`, EVENTS / secs, 'events/s', base, { atLeast: 0.9 }));
    figures.push(ratio('rebuild all projections, build phase only', EVENTS / buildSecs, 'events/s', base, { atLeast: 0.9 }));
    if (pg) {
      figures.push(ratio('rebuild all projections into PostgreSQL, start → switched', EVENTS / pg.secs, 'events/s', { name: 'raw readAll, measured just before', value: pg.readRate }, { atLeast: 0.9 }));
      figures.push(figure('peak RSS during the PostgreSQL rebuild', pg.peak, 'MB', { atMost: 300 }));
    }
    figures.push(ratio('replay (as-of) of all projections, events read per second', EVENTS / plainSecs, 'events/s', { name: 'the rebuild of all projections, same run', value: EVENTS / secs }, { atLeast: 1 }));
    figures.push(ratio('what-if replay ÷ (2 × plain replay) of profiles and loyalty, as time', (2 * someSecs) / whatIfSecs, 'x', { name: 'parity', value: 1 }, { atLeast: 1 }));
    figures.push(figure(`peak RSS during the rebuild of ${EVENTS.toLocaleString('en-US')} events`, peak, 'MB', { atMost: 300 }));
    figures.push(figure('RSS before the rebuild (after generating the log)', rssBefore, 'MB'));
    figures.push(figure('RSS growth from 20% of the build to switched', rssEnd - (at20 ?? rssBefore), 'MB'));
    return figures;
  } finally {
    await events.close();
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};
