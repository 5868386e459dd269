/**
 * PostgreSQL connections dropped under load: `cairn start` on a database of its own, 4 clients
 * ingesting, and every backend of THAT database terminated (pg_terminate_backend) several times,
 * with no supervisor. The process stays up; requests caught by a drop answer 503 with Retry-After
 * (and are retried with the same ids, as the SDK does); every acknowledged event is in the log
 * exactly once; and once the projector has caught up, every read model equals, row by row, a clean
 * `cairn projector` run over the same log into a fresh database.
 */
import { randomUUID } from 'crypto';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Client } from 'pg';
import { EventStoreDBClient } from '@eventstore/db-client';
import { OPERATIONS_TABLES } from '@cairn/projections';
import { poll, spawnCairn, started, type CairnChild } from './support/cairn-process';
import { pgAdmin, pgUrlFor } from './support/faults';

const ROUNDS = 5;

/** Every row of every table, as sorted canonical JSON lines, keyed by table. */
async function dump(db: string, tables: readonly string[]): Promise<Record<string, string[]>> {
  const c = new Client({ connectionString: pgUrlFor(db) });
  await c.connect();
  try {
    const out: Record<string, string[]> = {};
    for (const t of tables) {
      const rows = (await c.query(`select * from "${t}"`)).rows as Record<string, unknown>[];
      out[t] = rows.map((r) => JSON.stringify(Object.keys(r).sort().map((k) => [k, r[k] instanceof Date ? (r[k] as Date).toISOString() : r[k]]))).sort();
    }
    return out;
  } finally {
    await c.end();
  }
}

describe('PostgreSQL connections terminated under ingest', () => {
  const suffix = randomUUID().replace(/-/g, '').slice(0, 12);
  const liveDb = `cairn_pgfault_${suffix}`;
  const cleanDb = `cairn_pgfault_clean_${suffix}`;
  const root = mkdtempSync(join(tmpdir(), 'cairn-pgfault-'));
  const key = `test_${randomUUID().replace(/-/g, '')}`;
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const env = { CAIRN_ADMIN_KEY: key, CAIRN_RFM_SCHEDULE: 'off' };
  const children: CairnChild[] = [];

  beforeAll(async () => {
    await pgAdmin(async (c) => {
      await c.query(`create database ${liveDb}`);
      await c.query(`create database ${cleanDb}`);
    });
  });
  afterAll(async () => {
    for (const ch of children) if (ch.proc.exitCode === null && ch.proc.signalCode === null) ch.proc.kill('SIGKILL');
    await Promise.all(children.map((ch) => ch.exited));
    await pgAdmin(async (c) => {
      await c.query(`drop database if exists ${liveDb} with (force)`);
      await c.query(`drop database if exists ${cleanDb} with (force)`);
    });
    rmSync(root, { recursive: true, force: true });
  });

  it('stays up, loses and doubles nothing, and its read models equal a clean rebuild', async () => {
    const cairn = await started(spawnCairn(['start', '--port', '0', '--data-dir', join(root, 'live'), '--read-model', pgUrlFor(liveDb)], env));
    children.push(cairn);
    const url = cairn.url()!;

    const acked = new Set<string>();
    const unavailable: number[] = [];
    const unexpected: string[] = [];
    let stop = false;
    const client = async (n: number) => {
      for (let i = 0; !stop; i++) {
        const customerId = `pg-${n}-${i % 7}`;
        const events = [
          { id: randomUUID(), type: 'view', customerId, occurredAt: '2026-11-01T10:00:00Z', channel: 'web', productId: `p${i % 3}` },
          {
            id: randomUUID(),
            type: 'purchase',
            customerId,
            occurredAt: `2026-11-${String(1 + (i % 28)).padStart(2, '0')}T10:00:00Z`,
            channel: 'web',
            orderId: `o-${randomUUID()}`,
            currency: 'USD',
            items: [{ productId: `p${i % 3}`, quantity: 1 + (i % 2), unitPriceMinor: 1250 }],
            totalMinor: 1250 * (1 + (i % 2)),
          },
          { id: randomUUID(), type: 'review', customerId, occurredAt: '2026-11-02T10:00:00Z', channel: 'web', productId: 'p1', rating: 1 + (i % 5) },
        ];
        const body = JSON.stringify({ events });
        // Like the SDK: a 503 is retried with the same ids until it is answered.
        for (;;) {
          let res: Response;
          try {
            res = await fetch(`${url}/v1/events`, { method: 'POST', headers, body });
          } catch (err) {
            unexpected.push(`request failed: ${String(err)}`);
            return;
          }
          const text = await res.text();
          if (res.status === 202) {
            for (const r of JSON.parse(text).results) {
              if (r.status !== 'accepted' && r.status !== 'duplicate') unexpected.push(text);
              acked.add(r.id);
            }
            break;
          }
          if (res.status === 503 && res.headers.get('retry-after') && JSON.parse(text).error.code === 'CAIRN.UNAVAILABLE') {
            unavailable.push(res.status);
            await new Promise((r) => setTimeout(r, 50)); // client backoff before its retry
            continue;
          }
          unexpected.push(`${res.status} ${text.slice(0, 300)}`);
          return;
        }
      }
    };
    const clients = [0, 1, 2, 3].map(client);

    let terminated = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const before = acked.size;
      // Wait for progress and for connections to the database to exist again, then cut them all.
      await poll(`ingest progress and live connections before round ${round + 1}`, async () => {
        if (cairn.proc.exitCode !== null || cairn.proc.signalCode !== null) throw new Error(`cairn exited (${cairn.proc.exitCode ?? cairn.proc.signalCode}):\n${cairn.out().slice(-2000)}`);
        if (unexpected.length > 0) throw new Error(unexpected.join('\n'));
        if (acked.size < before + 12) return false;
        const { rows } = await pgAdmin((c) => c.query('select count(*)::int as n from pg_stat_activity where datname = $1', [liveDb]));
        return rows[0].n > 0;
      }, 60_000);
      const { rows } = await pgAdmin((c) => c.query('select count(*) filter (where pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [liveDb]));
      terminated += rows[0].n;
    }
    await poll('ingest to continue after the last round', () => acked.size > 0 && unexpected.length === 0 && cairn.proc.exitCode === null, 30_000);
    const afterLast = acked.size;
    await poll('more acknowledgements after the last termination', () => acked.size >= afterLast + 12, 60_000);
    stop = true;
    await Promise.all(clients);

    expect(unexpected).toEqual([]);
    expect(terminated).toBeGreaterThanOrEqual(ROUNDS);
    expect(cairn.proc.exitCode).toBeNull();
    expect(cairn.out()).not.toMatch(/Unhandled 'error' event|uncaught|unhandledRejection/i);
    await poll('readiness after the faults', async () => (await fetch(`${url}/health/ready`)).status === 200, 30_000);

    // The log holds every acknowledged event exactly once (and nothing else of Cairn's).
    const es = EventStoreDBClient.connectionString(cairn.connectionString()!);
    const ids: string[] = [];
    try {
      for await (const e of es.readAll()) if (e.event?.type.startsWith('cairn.')) ids.push(e.event.id);
    } finally {
      await es.dispose();
    }
    expect(ids.length).toBe(new Set(ids).size);
    expect([...ids].sort()).toEqual([...acked].sort());

    // The live projections catch up…
    await poll(
      'the live projections to catch up',
      async () => {
        const { projections } = await (await fetch(`${url}/v1/projections`, { headers })).json();
        return projections.length > 0 && projections.every((p: { lag: { events: number }; state: string }) => p.lag.events === 0 && p.state !== 'failed');
      },
      120_000,
      200,
    );

    // …and a clean projector over the same log, into a fresh database, builds the same rows.
    const clean = await started(spawnCairn(['projector', '--data-dir', join(root, 'clean'), '--event-store', cairn.connectionString()!, '--read-model', pgUrlFor(cleanDb)], env), { api: false });
    children.push(clean);
    const liveCheckpoints = await pgAdmin(async () => {
      const c = new Client({ connectionString: pgUrlFor(liveDb) });
      await c.connect();
      try {
        return (await c.query('select projection, position from checkpoints order by projection')).rows;
      } finally {
        await c.end();
      }
    });
    await poll(
      'the clean projector to reach the live checkpoints',
      async () => {
        const c = new Client({ connectionString: pgUrlFor(cleanDb) });
        await c.connect();
        try {
          const rows = (await c.query('select projection, position from checkpoints order by projection')).rows;
          return rows.length === liveCheckpoints.length && rows.every((r, i) => BigInt(r.position) >= BigInt(liveCheckpoints[i].position));
        } catch {
          return false; // not migrated yet
        } finally {
          await c.end();
        }
      },
      180_000,
      250,
    );
    expect(await clean.stop()).toBe(0);
    expect(await cairn.stop()).toBe(0);

    const c = new Client({ connectionString: pgUrlFor(cleanDb) });
    await c.connect();
    const tables = (await c.query("select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1")).rows
      .map((r) => r.table_name as string)
      .filter((t) => !OPERATIONS_TABLES.has(t));
    const nonEmpty: string[] = [];
    for (const t of tables) if ((await c.query(`select 1 from "${t}" limit 1`)).rowCount) nonEmpty.push(t);
    await c.end();
    expect(nonEmpty).toEqual(expect.arrayContaining(['profiles']));
    const [live, rebuilt] = await Promise.all([dump(liveDb, nonEmpty), dump(cleanDb, nonEmpty)]);
    console.log('PostgreSQL faults:', JSON.stringify({ backendsTerminated: terminated, answered503: unavailable.length, acknowledged: acked.size, tablesCompared: Object.fromEntries(nonEmpty.map((t) => [t, live[t].length])) }));
    // No event here is poison: a dropped connection must never park one.
    const parked = await pgAdmin(async () => {
      const pc = new Client({ connectionString: pgUrlFor(liveDb) });
      await pc.connect();
      try {
        return (await pc.query('select projection, event_type, error from parked_events')).rows;
      } finally {
        await pc.end();
      }
    });
    expect(parked).toEqual([]);
    for (const t of nonEmpty) expect([t, live[t].length]).toEqual([t, rebuilt[t].length]);
    for (const t of nonEmpty) expect([t, live[t]]).toEqual([t, rebuilt[t]]);
  }, 420_000);
});
