/**
 * `npm run bench -- what-if`: a loyalty what-if ("what if Silver started at 250 points and Gold
 * at 1,000, not 500 and 2,000?") over the
 * rebuild benchmark's log (1M events, 100k customers interleaved; CAIRN_BENCH_REBUILD_EVENTS /
 * _CUSTOMERS) against the plain replay of the same projection, in the same run and process.
 *
 * The what-if folds the log once (as the plain replay does), then computes each member's ledger
 * under both programs: the cost beyond the plain replay is that, plus one read of each member's
 * loyalty stream (redemptions; 1% of the members have one here).
 */
import { jsonEvent } from '@eventstore/db-client';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { randomUUID } from 'crypto';
import { LOYALTY_PROGRAM_STREAM, PROGRAM_DEFINED_TYPE, REDEEMED_TYPE, loyaltyStreamFor, validateProgram } from '@cairn/domain';
import { CairnEventStore } from '@cairn/event-store';
import { cairnProjections, cairnWhatIfAreas, runReplay } from '@cairn/projections';
import { startNodeChild } from './children';
import { ratio, type BenchFigure, type BenchSuite } from './harness';
import { CUSTOMERS, EVENTS, appendInChild } from './rebuild.bench';

const program = (silver: number, gold: number) => ({
  currency: 'USD',
  earn: { pointsPerUnit: 1, unitMinor: 100, rounding: 'floor' },
  pendingDays: 14,
  expiry: { mode: 'inactivity', days: 365 },
  returns: { negativeBalance: 'allow' },
  tiers: {
    basis: 'points',
    window: { kind: 'rolling', days: 365 },
    downgrade: 'end-of-period',
    levels: [
      { name: 'Bronze', threshold: 0, multiplier: 1 },
      { name: 'Silver', threshold: silver, multiplier: 1.25 },
      { name: 'Gold', threshold: gold, multiplier: 1.5 },
    ],
  },
});

export const run: BenchSuite = async (log) => {
  const figures: BenchFigure[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'cairn-what-if-bench-'));
  const node = await startNodeChild(join(dir, 'esdb'));
  const events = CairnEventStore.connect(node.connectionString);
  try {
    log(`appending ${EVENTS.toLocaleString('en-US')} events over ${CUSTOMERS.toLocaleString('en-US')} customers`);
    await appendInChild(node.connectionString, log);
    // Stored as PUT /v1/loyalty/program stores it: the validated (complete) program.
    const live = validateProgram(program(500, 2000));
    if (!live.ok) throw new Error(JSON.stringify(live.errors));
    await events.client.appendToStream(
      LOYALTY_PROGRAM_STREAM,
      jsonEvent({ id: randomUUID(), type: PROGRAM_DEFINED_TYPE, data: { version: 1, effectiveFrom: '2024-12-01T00:00:00.000Z', recordedAt: '2024-12-01T00:00:00.000Z', program: live.program } as never }),
    );
    for (let c = 0; c < CUSTOMERS; c += 100) {
      await events.client.appendToStream(loyaltyStreamFor(`c${c}`), jsonEvent({ id: randomUUID(), type: REDEEMED_TYPE, data: { customerId: `c${c}`, points: 10, occurredAt: '2026-06-01T00:00:00.000Z' } as never }));
    }
    const rules = { currency: 'USD', timezone: 'UTC', sharedDeviceLimit: 3 };
    const asOf = '2026-08-31T23:59:59Z';
    const projectionsFor = (r: typeof rules) => cairnProjections(r);
    const options = { areas: cairnWhatIfAreas() };
    // Warm-up (JIT, the node's caches), then plain and what-if interleaved, best of two each.
    await runReplay(events, projectionsFor, rules, { projections: ['loyalty'], asOf: '2025-02-01T00:00:00Z' });
    let plain = Infinity;
    let whatIf = Infinity;
    let answer: unknown = null;
    for (let round = 0; round < 2; round++) {
      let t0 = Date.now();
      await runReplay(events, projectionsFor, rules, { projections: ['loyalty'], asOf });
      plain = Math.min(plain, (Date.now() - t0) / 1000);
      t0 = Date.now();
      const result = await runReplay(events, projectionsFor, rules, { projections: ['loyalty'], asOf, rules: { loyalty: { program: program(250, 1000) } } }, () => undefined, options);
      whatIf = Math.min(whatIf, (Date.now() - t0) / 1000);
      answer = result.summary.whatIf?.areas.loyalty;
      log(`round ${round + 1}: plain replay of loyalty ${plain.toFixed(1)} s, loyalty what-if ${whatIf.toFixed(1)} s`);
    }
    const a = answer as { members: number; promoted: { count: number }; demoted: { count: number }; liability: { available: { change: number } } };
    log(`what-if: ${a.members} members, ${a.promoted.count} promoted, ${a.demoted.count} demoted, available liability ${a.liability.available.change >= 0 ? '+' : ''}${a.liability.available.change}`);
    figures.push(ratio(`loyalty what-if replay, ${(EVENTS / 1e6).toFixed(1)}M events / ${(CUSTOMERS / 1000).toFixed(0)}k customers, as time`, whatIf, 's', { name: 'plain replay of loyalty', value: plain }));
  } finally {
    await events.close();
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
};
