/**
 * `npm run bench -- live`: projections keeping up with live ingest, measured from outside.
 *
 * `cairn start` (a child process: API, engine and embedded node together, as users run it) takes
 * 100-event batches from 16 closed-loop clients, as fast as it accepts them (the API's maximum
 * sustained rate with reads going on), customers interleaved. After each accepted batch the
 * client reads one of its customers with `minPosition` = the batch's position: the answer comes
 * when every projection has folded the batch (read-your-writes), or 409 after CAIRN_READ_WAIT_MS.
 *
 * Figures: accepted events/s; the read-your-writes wait (p50, p99: the projections' lag as a
 * client sees it); the share of `minPosition` reads answered 200. Read models: SQLite, then
 * PostgreSQL (a database of its own on CAIRN_BENCH_PG, default postgres://postgres@127.0.0.1:5432/test,
 * dropped afterwards; skipped with a line in the log when unreachable).
 */
import { randomUUID } from 'crypto';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Client } from 'pg';
import { figure, type BenchFigure, type BenchSuite } from './harness';
import { httpCall, makeInputs, percentile, startCairnChild } from './spine.bench';

const CLIENTS = 16;
const BATCH = 100;
const SECONDS = Number(process.env.CAIRN_BENCH_LIVE_SECONDS ?? 60);
const CUSTOMERS = 5000;

const PG = process.env.CAIRN_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

export const run: BenchSuite = async (log) => {
  const figures = await measure(log, undefined);
  const db = `cairn_bench_live_${process.pid}`;
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
    figures.push(...(await measure(log, url.toString())));
  } finally {
    await admin.query(`drop database if exists ${db} with (force)`).catch(() => undefined);
    await admin.end();
  }
  return figures;
};

async function measure(log: (line: string) => void, readModel: string | undefined): Promise<BenchFigure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-live-'));
  const key = `bench_${randomUUID()}`;
  const cairn = await startCairnChild(join(dir, 'cairn'), key, readModel ? { CAIRN_READ_MODEL: readModel } : {});
  try {
    let accepted = 0;
    let ok = 0;
    let stale = 0;
    let other = 0;
    const waits: number[] = [];
    const deadline = Date.now() + SECONDS * 1000;
    const started = Date.now();
    let seed = 1;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (Date.now() < deadline) {
          const inputs = makeInputs(BATCH, CUSTOMERS, seed++);
          const res = await httpCall(`${cairn.url}/v1/events`, 'POST', key, JSON.stringify({ events: inputs }));
          if (res.status !== 202) {
            other += 1;
            continue;
          }
          const body = JSON.parse(res.body) as { results: { status: string }[]; position: { commit: string } | null };
          accepted += body.results.filter((r) => r.status === 'accepted').length;
          if (!body.position) continue;
          const t0 = performance.now();
          const read = await httpCall(`${cairn.url}/v1/customers/${inputs[0]!.customerId}?minPosition=${body.position.commit}`, 'GET', key);
          const waited = performance.now() - t0;
          if (read.status === 200) {
            ok += 1;
            waits.push(waited);
          } else if (read.status === 409) {
            stale += 1;
            waits.push(waited);
          } else other += 1;
        }
      }),
    );
    const secs = (Date.now() - started) / 1000;
    waits.sort((a, b) => a - b);
    const reads = ok + stale;
    log(`${readModel ? 'PostgreSQL' : 'SQLite'}: accepted ${accepted} events in ${secs.toFixed(1)} s; reads 200: ${ok}, 409: ${stale}, other answers: ${other}`);
    const figures: BenchFigure[] = [
      figure(`accepted ingest rate, ${CLIENTS} clients × ${BATCH}-event batches (${readModel ? 'PostgreSQL' : 'SQLite'})`, accepted / secs, 'events/s'),
      figure(`read-your-writes wait p50 (${readModel ? 'PostgreSQL' : 'SQLite'})`, percentile(waits, 50) ?? 0, 'ms'),
      figure(`read-your-writes wait p99: the lag a client sees (${readModel ? 'PostgreSQL' : 'SQLite'})`, percentile(waits, 99) ?? 0, 'ms', { atMost: 1000 }),
      figure(`minPosition reads answered 200 (${readModel ? 'PostgreSQL' : 'SQLite'})`, reads === 0 ? 0 : (100 * ok) / reads, '%', { atLeast: 99 }),
    ];
    return figures;
  } finally {
    await cairn.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
