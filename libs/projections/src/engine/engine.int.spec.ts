/**
 * Exactly-once under faults, inside one process (real embedded node, real SQLite): while events
 * are appended live, the read store's transactions fail at random (before the work, and after it
 * but before the commit, as a lost connection does) and the subscription is torn down at random,
 * including while a flush is in flight. The engine must end with every table equal to a clean run
 * of the same log: no batch skipped, none applied twice, nothing parked for a store fault.
 *
 * This is the case the old projector got wrong: a failed batch followed by a commit of the events
 * buffered behind it moved the checkpoint past events never applied.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { AllStreamSubscription } from '@eventstore/db-client';
import { startEmbeddedNode, type EmbeddedNode } from '@cairn/esdb-embedded';
import { CairnEventStore } from '@cairn/event-store';
import { openReadStore, type ReadStore } from '@cairn/read-models';
import { cairnProjections } from '../registry';
import { purchaseEvent, until, viewEvent } from '../ops/test-support';
import { ProjectionEngine } from './engine';

const TABLES = ['profiles', 'identity_sources', 'identity_links', 'loyalty_facts', 'loyalty_links', 'analytics_facts', 'checkpoints', 'parked_events'];

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A read store whose transactions fail like a dropped connection, before or after the work. */
function flaky(store: ReadStore, rnd: () => number, counts: { failed: number }): ReadStore {
  return {
    ...store,
    transaction: async (fn) => {
      if (rnd() < 0.05) {
        counts.failed += 1;
        throw new Error('Connection terminated unexpectedly');
      }
      return store.transaction(async (trx) => {
        const out = await fn(trx);
        if (rnd() < 0.05) {
          counts.failed += 1;
          throw new Error('Connection terminated unexpectedly');
        }
        return out;
      });
    },
  };
}

/** An event store whose subscriptions are torn down at random moments. */
function breakingSubscriptions(events: CairnEventStore, rnd: () => number, counts: { broken: number }): CairnEventStore {
  const wrapped = Object.create(events) as CairnEventStore;
  wrapped.subscribeToCairnEvents = (from, interval) => {
    const sub: AllStreamSubscription = events.subscribeToCairnEvents(from, interval);
    const timer = setTimeout(() => {
      counts.broken += 1;
      sub.destroy(new Error('subscription torn down (injected)'));
    }, 50 + rnd() * 500);
    timer.unref();
    sub.once('close', () => clearTimeout(timer));
    return sub;
  };
  return wrapped;
}

async function dump(store: ReadStore): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of TABLES) {
    const rows = (await store.db.selectFrom(t as never).selectAll().execute()) as Record<string, unknown>[];
    out[t] = rows.map(({ updated_at: _u, events_processed: _e, ...rest }) => JSON.stringify(rest)).sort();
  }
  return out;
}

describe('projection engine: exactly-once under store and subscription faults', () => {
  let node: EmbeddedNode;
  let events: CairnEventStore;
  let dir: string;

  beforeAll(async () => {
    node = await startEmbeddedNode({ port: 0 });
    events = CairnEventStore.connect(node.connectionString);
    dir = mkdtempSync(join(tmpdir(), 'cairn-engine-faults-'));
  });
  afterAll(async () => {
    await events?.close();
    await node?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ends equal to a clean run, with nothing parked', async () => {
    const rules = { currency: 'USD', timezone: 'UTC' };
    const rnd = rng(20261201);
    const counts = { failed: 0, broken: 0 };
    const base = await openReadStore(`sqlite:${join(dir, 'faulty.sqlite')}`);
    const engine = new ProjectionEngine(breakingSubscriptions(events, rnd, counts), flaky(base, rnd, counts), cairnProjections(rules), { batchSize: 50, batchMs: 2, retryMs: 20, log: process.env.ENGINE_LOG ? (l, m, f) => console.log(l, m, JSON.stringify(f), engine?.status()[0]?.checkpoint) : undefined });
    await engine.start();
    let last = 0n;
    // Live ingest while the faults happen: appends of 50 events over 200 customers, interleaved;
    // at least 40 of them, and more until several faults of each kind have hit (a fast engine
    // commits less often, so fewer transactions are there to fail).
    for (let round = 0; round < 400 && (round < 40 || counts.failed <= 3 || counts.broken <= 3); round++) {
      const batch = Array.from({ length: 50 }, (_, i) => {
        const c = `c${(round * 37 + i * 11) % 200}`;
        const at = new Date(Date.UTC(2026, 0, 1) + ((round * 50 + i) % 300) * 86_400_000).toISOString();
        return i % 3 === 0 ? purchaseEvent(c, at, at, 1000 + i) : viewEvent(c, at, at, `p${i % 7}`);
      });
      const pos = await events.append(batch);
      if (pos) last = pos.commit;
      await new Promise((r) => setImmediate(r));
    }
    await until(async () => (await engine.waitFor(last, 100)) === true, 60_000, `the faulty engine to reach position ${last}`);
    await engine.stop();
    expect(counts.failed).toBeGreaterThan(3);
    expect(counts.broken).toBeGreaterThan(3);

    const clean = await openReadStore(`sqlite:${join(dir, 'clean.sqlite')}`);
    const reference = new ProjectionEngine(events, clean, cairnProjections(rules), { batchSize: 500, batchMs: 2 });
    await reference.start();
    expect(await reference.waitFor(last, 60_000)).toBe(true);
    await reference.stop();

    const [got, want] = [await dump(base), await dump(clean)];
    expect(got.parked_events).toEqual([]);
    for (const t of TABLES) expect({ table: t, rows: got[t] }).toEqual({ table: t, rows: want[t] });
    await base.close();
    await clean.close();
  }, 120_000);

  it('catching up, writes once per flush interval, not once per chunk the subscription delivers', async () => {
    const rules = { currency: 'USD', timezone: 'UTC' };
    let last = 0n;
    for (let round = 0; round < 20; round++) {
      const batch = Array.from({ length: 250 }, (_, i) => {
        const at = new Date(Date.UTC(2026, 0, 1) + i * 86_400_000).toISOString();
        return viewEvent(`k${(round * 250 + i) % 300}`, at, at, `p${i % 7}`);
      });
      last = (await events.append(batch))!.commit;
    }
    const base = await openReadStore(`sqlite:${join(dir, 'chunks.sqlite')}`);
    let transactions = 0;
    const counting: ReadStore = { ...base, transaction: (fn) => ((transactions += 1), base.transaction(fn)) };
    // A flush interval longer than the catch-up: everything is written when the subscription is caught up.
    const engine = new ProjectionEngine(events, counting, cairnProjections(rules), { batchSize: 100, batchMs: 2, flushMs: 60_000 });
    await engine.start();
    expect(await engine.waitFor(last, 60_000)).toBe(true);
    await engine.stop();
    // The log is delivered in many chunks of a few events (the old engine committed after each).
    expect(transactions).toBeLessThanOrEqual(4);
    await base.close();
  }, 120_000);
});
