/**
 * `npm run bench -- import`: the bulk import path.
 *
 *  - NDJSON import of 100k interleaved events (5,000 customers) in one POST /v1/events/import to
 *    `cairn start` (a child process: API, projector and embedded node together) ÷ the raw client
 *    rate for events of the same shape appended to the same node the way the import appends them:
 *    `appendEach` over consecutive groups of CAIRN_IMPORT_GROUP_EVENTS (one append per stream of a group,
 *    in parallel; one group at a time, since a stream's events must stay in file order).
 *  - The CDNOW sample (6,919 rows) through `cairn import cdnow` against a fresh `cairn start`:
 *    wall time, goal < 2 s.
 */
import { randomUUID } from 'crypto';
import { existsSync, mkdtempSync, rmSync } from 'fs';
import { request } from 'http';
import { tmpdir } from 'os';
import { join } from 'path';
import { loadConfig } from '@cairn/config';
import { streamFor, toStoredEvent } from '@cairn/domain';
import { CairnEventStore, type EventToAppend } from '@cairn/event-store';
import { importCdnow } from '../apps/cli/src/import-cdnow';
import { figure, ratio, type BenchFigure, type BenchSuite } from './harness';
import { makeInputs, startCairnChild } from './spine.bench';

const EVENTS = 100_000;
/** The import's group size as `cairn start` runs it (CAIRN_IMPORT_GROUP_EVENTS default). */
const IMPORT_GROUP_LINES = loadConfig({}).importGroupEvents;
const CUSTOMERS = 5000;
const CDNOW_SAMPLE = ['/work/shared/data/cdnow/CDNOW_sample.txt', join(__dirname, '../../../shared/data/cdnow/CDNOW_sample.txt')].find((f) => existsSync(f));

/** POSTs `body` as NDJSON and reads the streamed answer to its end; returns the last record. */
function postNdjson(url: string, key: string, body: Buffer): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/events/import`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-ndjson', 'content-length': body.length } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d.length > 4096 ? d.slice(-4096) : d));
      res.on('end', () => {
        const lines = text.trim().split('\n');
        try {
          resolve(JSON.parse(lines[lines.length - 1]) as Record<string, unknown>);
        } catch (err) {
          reject(new Error(`import answered ${res.statusCode}: ${text.slice(-500)} (${String(err)})`));
        }
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

export const run: BenchSuite = async (log) => {
  const figures: BenchFigure[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-import-'));
  const key = `bench_${randomUUID()}`;
  try {
    const cairn = await startCairnChild(join(dir, 'cairn'), key);
    const store = CairnEventStore.connect(cairn.connectionString);
    try {
      // 1. Raw baseline: groups of the import's size, one after the other, through appendEach.
      const raw: EventToAppend[] = makeInputs(EVENTS, CUSTOMERS, 11).map((input) => ({ id: input.id!, streamId: streamFor(input), event: toStoredEvent(input), metadata: { receivedAt: new Date().toISOString(), correlationId: 'bench' } }));
      let t0 = process.hrtime.bigint();
      for (let i = 0; i < raw.length; i += IMPORT_GROUP_LINES) {
        const outcomes = await store.appendEach(raw.slice(i, i + IMPORT_GROUP_LINES));
        const failed = outcomes.find((o) => !o.ok);
        if (failed && !failed.ok) throw failed.error;
      }
      const rawRate = EVENTS / (Number(process.hrtime.bigint() - t0) / 1e9);
      log(`raw appendEach in groups of ${IMPORT_GROUP_LINES}: ${Math.round(rawRate)} events/s`);

      // 2. The same shape of events (other ids) as one NDJSON import.
      const body = Buffer.from(makeInputs(EVENTS, CUSTOMERS, 12).map((e) => `${JSON.stringify(e)}\n`).join(''));
      t0 = process.hrtime.bigint();
      const last = await postNdjson(cairn.url, key, body);
      const importSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const summary = last.summary as { accepted: number } | undefined;
      if (!summary || summary.accepted !== EVENTS) throw new Error(`import did not accept every event: ${JSON.stringify(last)}`);
      log(`NDJSON import: ${Math.round(EVENTS / importSeconds)} events/s (${(body.length / 1e6).toFixed(1)} MB in ${importSeconds.toFixed(2)} s)`);
      figures.push(ratio(`NDJSON import, ${EVENTS / 1000}k interleaved events, one request`, EVENTS / importSeconds, 'events/s', { name: `raw appendEach, groups of ${IMPORT_GROUP_LINES}`, value: rawRate }, { atLeast: 0.9 }));
    } finally {
      await store.close();
      await cairn.stop();
    }

    // 3. CDNOW sample through `cairn import cdnow` (the same client code) against a fresh `cairn start`.
    if (!CDNOW_SAMPLE) throw new Error('CDNOW_sample.txt not found under /work/shared/data/cdnow');
    const fresh = await startCairnChild(join(dir, 'cdnow'), key);
    try {
      const t = process.hrtime.bigint();
      const s = await importCdnow(CDNOW_SAMPLE, { url: fresh.url, key, timezone: 'America/New_York' });
      const seconds = Number(process.hrtime.bigint() - t) / 1e9;
      if (s.accepted !== s.rows || s.rows !== 6919) throw new Error(`CDNOW import: ${JSON.stringify(s)}`);
      log(`CDNOW sample: ${s.rows} rows in ${seconds.toFixed(2)} s`);
      figures.push(figure(`CDNOW sample (${s.rows} rows), cairn import cdnow → cairn start`, seconds, 's', { atMost: 2 }));
    } finally {
      await fresh.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
};
