/**
 * `npm run bench -- privacy`: what sealing personal data costs the ingest (docs/privacy.md).
 *
 *  - HTTP batch ingest into `cairn start` (a child process, as users run it) of identify events
 *    carrying five traits (email, name, country and two of the shop's own: each one sealed with its
 *    person's key, keys made on first sight) ÷ the same events with no personal field, in the same
 *    run against the same process. Rounds alternate (plain, personal, plain, …) so drift on a busy
 *    machine falls on both. Customers interleave across batches as a shop's do; 40% of each
 *    personal round's people are new (their keys are made during the round).
 *  - The vault's seal in this process: microseconds per sealed value (keys cached).
 */
import { randomBytes, randomUUID } from 'crypto';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { streamFor, toStoredEvent, type EventInput } from '@cairn/domain';
import type { EventToAppend } from '@cairn/event-store';
import { openReadStore } from '@cairn/read-models';
import { LocalKeyEncryptionKey, PersonalDataVault } from '@cairn/runtime';
import { figure, ratio, type BenchFigure, type BenchSuite } from './harness';
import { httpCall, pool, rng, startCairnChild } from './spine.bench';

const ROUNDS = 3;
const BATCHES = 40;
const BATCH = 500;
const CLIENTS = 8;

/** A round's identify events: people drawn from `known` earlier ones and new ones, interleaved. */
function identifies(round: number, personal: boolean): string[] {
  const rnd = rng(7 + round * 31 + (personal ? 1 : 0));
  return Array.from({ length: BATCHES }, (_, b) =>
    JSON.stringify({
      events: Array.from({ length: BATCH }, (_, i) => {
        const n = rnd(10) < 4 ? `${round}-${b}-${i}` : String(rnd(20_000));
        const customerId = `${personal ? 'p' : 'q'}${n}`;
        const base = { id: randomUUID(), type: 'identify', customerId, anonymousId: `v${customerId}`, occurredAt: new Date(Date.UTC(2026, 0, 1) + rnd(300 * 86_400) * 1000).toISOString(), channel: 'web' };
        return personal ? { ...base, traits: { email: `${customerId}@mail.example`, name: `Customer ${customerId}`, country: 'DE', plan: 'gold', visits: rnd(100) } } : base;
      }),
    }),
  );
}

async function ingestRate(url: string, key: string, bodies: readonly string[]): Promise<number> {
  const t0 = process.hrtime.bigint();
  await pool(bodies, CLIENTS, async (body) => {
    const res = await httpCall(`${url}/v1/events`, 'POST', key, body);
    if (res.status !== 202 || res.body.includes('"rejected"')) throw new Error(`ingest answered ${res.status}: ${res.body.slice(0, 300)}`);
  });
  return (bodies.length * BATCH) / (Number(process.hrtime.bigint() - t0) / 1e9);
}

export const run: BenchSuite = async (log) => {
  const figures: BenchFigure[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-privacy-'));
  const key = `bench_${randomUUID()}`;
  const cairn = await startCairnChild(join(dir, 'cairn'), key);
  try {
    // Warm-up: connections, JIT, the first keys.
    await ingestRate(cairn.url, key, identifies(99, true).slice(0, 4));
    await ingestRate(cairn.url, key, identifies(99, false).slice(0, 4));
    const plain: number[] = [];
    const personal: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      plain.push(await ingestRate(cairn.url, key, identifies(r, false)));
      personal.push(await ingestRate(cairn.url, key, identifies(r, true)));
      log(`round ${r + 1}: no personal field ${Math.round(plain[r]!)} events/s, five sealed traits ${Math.round(personal[r]!)} events/s`);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    figures.push(ratio('HTTP ingest, identify with 5 sealed traits', mean(personal), 'events/s', { name: 'same events, no personal field', value: mean(plain) }));
  } finally {
    await cairn.stop();
  }

  // The seal itself, in this process (a store of its own, keys cached after the first call).
  const store = await openReadStore(join(dir, 'vault.sqlite'));
  try {
    const vault = await PersonalDataVault.open(store, new LocalKeyEncryptionKey(randomBytes(32), 'bench'));
    const inputs: EventInput[] = Array.from({ length: 20_000 }, (_, i) => ({ id: randomUUID(), type: 'identify', customerId: `s${i % 2000}`, anonymousId: `a${i % 2000}`, occurredAt: '2026-01-01T00:00:00Z', channel: 'web', traits: { email: `s${i}@mail.example`, name: `N ${i}`, country: 'DE', plan: 'gold', visits: i } }));
    const appends: EventToAppend[] = inputs.map((input) => ({ id: input.id!, streamId: streamFor(input), event: toStoredEvent(input), metadata: { receivedAt: '2026-01-01T00:00:00Z', correlationId: 'bench' } }));
    await vault.seal(appends.slice(0, 2000)); // makes the 2,000 keys
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < appends.length; i += 500) await vault.seal(appends.slice(i, i + 500));
    const us = Number(process.hrtime.bigint() - t0) / 1e3 / (appends.length * 5);
    figures.push(figure('seal, per personal value (AES-256-GCM, key cached)', us, 'µs'));
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
};
