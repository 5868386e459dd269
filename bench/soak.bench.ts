/**
 * `npm run bench -- soak`: resident memory of `cairn start` under sustained load.
 *
 * `cairn start` runs as a child (API, projector and embedded node in one process, as users run it).
 * First its maximum sustained HTTP ingest rate is measured over a short run; then, for
 * BENCH_SOAK_SECONDS (default 600), ingest runs at half that rate on an interleaved log (new events
 * for customers drawn from a large pool, so the read models keep growing) with a few concurrent
 * GET /v1/customers/:id clients, while the child's VmRSS is sampled every 5 s (heap figures from
 * its /metrics). Reported: RSS at the start of the soak, the peak, the end, and the slope over the
 * second half (flat is the goal; the peak should stay under 250 MB).
 */
import { randomUUID } from 'crypto';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { figure, type BenchFigure, type BenchSuite } from './harness';
import { pacedIngest, rssMb, slope } from './load';
import { httpCall, makeInputs, startCairnChild } from './spine.bench';

const BATCH = 500;
const CUSTOMERS = 200_000;
const PROBE_BATCHES = 60;
const PROBE_CLIENTS = 8;
const SAMPLE_MS = 5000;
const GET_CLIENTS = 4;

/** The env var read here is the benchmark's own knob, not a Cairn setting. */
function soakSeconds(): number {
  const raw = process.env['BENCH_SOAK_SECONDS'];
  if (raw === undefined || raw === '') return 600;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 10) throw new Error(`BENCH_SOAK_SECONDS must be a number of seconds >= 10, got ${raw}`);
  return n;
}

/** A gauge from a Prometheus text page, in MB. */
function metricMb(page: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(page);
  return m ? Number(m[1]) / 1024 / 1024 : NaN;
}

export const run: BenchSuite = async (log) => {
  const seconds = soakSeconds();
  const figures: BenchFigure[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-soak-'));
  const key = `bench_${randomUUID()}`;
  const cairn = await startCairnChild(join(dir, 'cairn'), key);
  const pid = cairn.proc.pid!;
  try {
    // 1. Maximum sustained rate: PROBE_BATCHES batches from PROBE_CLIENTS clients, as fast as accepted.
    let next = 0;
    let t0 = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: PROBE_CLIENTS }, async () => {
        while (next < PROBE_BATCHES) {
          const body = JSON.stringify({ events: makeInputs(BATCH, CUSTOMERS, 100 + next++) });
          const res = await httpCall(`${cairn.url}/v1/events`, 'POST', key, body);
          if (res.status !== 202) throw new Error(`ingest answered ${res.status}: ${res.body.slice(0, 200)}`);
        }
      }),
    );
    const maxRate = (PROBE_BATCHES * BATCH) / (Number(process.hrtime.bigint() - t0) / 1e9);
    const rate = maxRate / 2;
    log(`maximum sustained ingest ${Math.round(maxRate)} events/s; soaking ${seconds} s at ${Math.round(rate)} events/s`);

    // 2. The soak: paced ingest, a few GET clients, RSS sampled.
    const samples: { t: number; rss: number; heap: number; external: number }[] = [];
    t0 = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - t0) / 1e9;
    const ingest = pacedIngest(cairn.url, key, rate, (b) => makeInputs(BATCH, CUSTOMERS, 10_000 + b));
    let reading = true;
    let gets = 0;
    const readers = Array.from({ length: GET_CLIENTS }, async (_, c) => {
      let i = c;
      while (reading) {
        const res = await httpCall(`${cairn.url}/v1/customers/c${(i * 7919) % CUSTOMERS}`, 'GET', key);
        if (res.status !== 200 && res.status !== 404) throw new Error(`GET answered ${res.status}`);
        i += GET_CLIENTS;
        gets += 1;
      }
    });
    const sample = async () => {
      const page = (await httpCall(`${cairn.url}/metrics`, 'GET', key)).body;
      const s = { t: elapsed(), rss: rssMb(pid), heap: metricMb(page, 'cairn_nodejs_heap_size_used_bytes'), external: metricMb(page, 'cairn_nodejs_external_memory_bytes') };
      samples.push(s);
      return s;
    };
    await sample();
    while (elapsed() < seconds) {
      await new Promise((r) => setTimeout(r, Math.min(SAMPLE_MS, Math.max(0, (seconds - elapsed()) * 1000))));
      const s = await sample();
      if (samples.length % 6 === 0) log(`${Math.round(s.t)} s: rss ${s.rss.toFixed(0)} MB, heap used ${s.heap.toFixed(0)} MB, external ${s.external.toFixed(0)} MB, ${gets} GETs`);
    }
    reading = false;
    const done = await ingest.stop();
    await Promise.all(readers);
    const end = samples[samples.length - 1]!;
    const second = samples.filter((s) => s.t >= seconds / 2);
    const rssSlope = slope(second.map((s) => s.t / 60), second.map((s) => s.rss));
    const heapSlope = slope(second.map((s) => s.t / 60), second.map((s) => s.heap));
    log(`rss samples (MB): ${samples.map((s) => s.rss.toFixed(0)).join(' ')}`);
    figures.push(figure('ingest during the soak (target: half the maximum)', done.events / done.seconds, 'events/s', { atLeast: rate * 0.9 }));
    figures.push(figure('events ingested during the soak', done.events, 'events'));
    figures.push(figure('RSS at the start of the soak', samples[0]!.rss, 'MB'));
    figures.push(figure('RSS peak', Math.max(...samples.map((s) => s.rss)), 'MB', { atMost: 250 }));
    figures.push(figure('RSS at the end', end.rss, 'MB', { atMost: 250 }));
    figures.push(figure('RSS slope over the second half', rssSlope, 'MB/min'));
    figures.push(figure('heap used at the end', end.heap, 'MB'));
    figures.push(figure('heap used slope over the second half', heapSlope, 'MB/min'));
  } finally {
    await cairn.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
};
