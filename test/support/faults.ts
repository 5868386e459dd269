/**
 * Fault-injection helpers for specs that drive real Cairn processes: a PostgreSQL database of the
 * spec's own, a supervisor that restarts a `cairn start` / `cairn projector` child whenever it dies,
 * ingest clients that retry through crashes, killing the process's own PostgreSQL backends, reading
 * the log, and order-independent dumps of every read-model table.
 */
import { spawn, type ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import { appendFileSync } from 'fs';
import { join } from 'path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { CairnEventStore, toRecordedCairnEvent } from '@cairn/event-store';
import type { RecordedCairnEvent } from '@cairn/domain';
import { PG_URL } from './read-stores';

const RUNNER = join(__dirname, 'run-cairn-from-source.js');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A deterministic pseudo-random generator (so a failing run can be replayed with its seed). */
export function prng(seed: number): (k: number) => number {
  let x = seed >>> 0 || 1;
  return (k) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % k;
  };
}

// ---------------------------------------------------------------- PostgreSQL

export function pgUrlFor(database: string): string {
  const u = new URL(PG_URL);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Runs fn on a connection to the server's admin database. */
export async function pgAdmin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

export interface PgDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/** CREATE DATABASE with a unique name (the spec's own: terminating its backends touches nobody else). */
export async function createPgDatabase(prefix: string): Promise<PgDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await pgAdmin((c) => c.query(`create database "${name}"`));
  return {
    name,
    url: pgUrlFor(name),
    drop: () => pgAdmin(async (c) => void (await c.query(`drop database if exists "${name}" with (force)`))),
  };
}

/** Terminates every backend connected to `database` (only that database's); returns how many. */
export function terminateBackends(database: string): Promise<number> {
  return pgAdmin(async (c) => {
    const r = await c.query('select pg_terminate_backend(pid) as ok from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database]);
    return r.rows.filter((row: { ok: boolean }) => row.ok).length;
  });
}

// ---------------------------------------------------------------- processes

export interface Endpoint {
  /** API base URL (`cairn start` only). */
  readonly url: string | null;
  /** The event store's connection string as the process printed it. */
  readonly eventStore: string;
  readonly pid: number;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Whether the supervisor (the spec) killed it, or it died on its own. */
  readonly killed: boolean;
  /** The last lines the process wrote (errors, stack). */
  readonly tail: string;
}

/**
 * Runs `cairn <command>` as a child process and restarts it whenever it exits, until `stop()`.
 * `endpoint()` waits for the running (or next) instance to be ready.
 */
export class Supervisor {
  readonly exits: Exit[] = [];
  private proc: ChildProcess | null = null;
  private ready: Promise<Endpoint> | null = null;
  private stopped = false;
  private killing = false;
  private starts = 0;

  constructor(
    private readonly command: 'start' | 'projector',
    private readonly env: Record<string, string>,
    private readonly maxStarts = 60,
    /** Appends everything the instances write to this file (for diagnosis). */
    private readonly logFile?: string,
  ) {}

  get restarts(): number {
    return Math.max(0, this.starts - 1);
  }

  /** Starts the first instance; resolves when it is ready. */
  start(): Promise<Endpoint> {
    this.stopped = false;
    this.spawn();
    return this.endpoint();
  }

  endpoint(): Promise<Endpoint> {
    if (this.ready === null) throw new Error('supervisor not started');
    return this.ready;
  }

  /** The instance's crashes that the spec did not cause (e.g. an unhandled pg error). */
  get crashes(): Exit[] {
    return this.exits.filter((e) => !e.killed);
  }

  /** Kills the current instance with `signal` (it is restarted); resolves once it has exited. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.proc;
    if (p === null || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    this.killing = true;
    p.kill(signal);
    await exited;
  }

  /** SIGTERM (drain) and no restart; resolves with the exit code. */
  async stop(): Promise<number | null> {
    this.stopped = true;
    const p = this.proc;
    if (p === null || p.exitCode !== null || p.signalCode !== null) return p?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    p.kill('SIGTERM');
    return exited;
  }

  /** For afterAll: no restart, SIGKILL. */
  destroy(): void {
    this.stopped = true;
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }

  private spawn(): void {
    this.starts += 1;
    if (this.starts > this.maxStarts) {
      this.ready = Promise.reject(new Error(`cairn ${this.command} started ${this.maxStarts} times; last exits: ${JSON.stringify(this.exits.slice(-3))}`));
      this.ready.catch(() => undefined);
      return;
    }
    const args = this.command === 'start' ? ['start', '--port', '0'] : ['projector'];
    const proc = spawn(process.execPath, [RUNNER, ...args], {
      env: { ...process.env, CAIRN_ESDB_PORT: '0', CAIRN_HOST: '127.0.0.1', CAIRN_LOG_LEVEL: 'warn', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    let out = '';
    let tail = '';
    const keep = (d: Buffer) => {
      tail = (tail + d.toString()).slice(-4000);
      if (this.logFile) appendFileSync(this.logFile, d);
    };
    proc.stderr!.on('data', keep);
    let resolveReady!: (e: Endpoint) => void;
    this.ready = new Promise<Endpoint>((r) => (resolveReady = r));
    let isReady = false;
    proc.stdout!.on('data', (d: Buffer) => {
      keep(d);
      if (isReady) return;
      out += d.toString();
      const es = /^Event store: (\S+)$/m.exec(out)?.[1];
      if (es === undefined) return;
      isReady = true;
      resolveReady({ url: /Cairn API on (\S+)/.exec(out)?.[1] ?? null, eventStore: es, pid: proc.pid! });
    });
    proc.once('exit', (code, signal) => {
      if (this.logFile) appendFileSync(this.logFile, `\n=== pid ${proc.pid} exit code=${code} signal=${signal} killed=${this.killing || this.stopped}\n`);
      this.exits.push({ code, signal, killed: this.killing || this.stopped, tail });
      this.killing = false;
      if (this.stopped) return;
      // A supervisor's restart delay (systemd RestartSec), not a wait for a condition.
      setTimeout(() => {
        if (!this.stopped) this.spawn();
      }, 100).unref();
      // Callers waiting on the dead instance wait for the next one instead.
      if (!isReady) {
        const next = () => (this.stopped ? Promise.reject(new Error(`cairn ${this.command} stopped`)) : this.endpoint());
        void sleep(150).then(next).then(resolveReady, () => undefined);
      }
    });
  }
}

// ---------------------------------------------------------------- ingest

export interface IngestStats {
  requests: number;
  /** Requests answered with something other than 202, or cut off by a crash, and sent again. */
  retries: number;
  accepted: number;
  duplicates: number;
}

/**
 * Sends `batches` to POST /v1/events one after another, retrying a batch (the same body) until it is
 * accepted: through 5xx answers, cut connections and restarts of the process.
 */
export async function ingest(sup: Supervisor, key: string, batches: readonly object[][], stats: IngestStats, deadline: number): Promise<void> {
  for (const batch of batches) {
    const body = JSON.stringify({ events: batch });
    for (;;) {
      if (Date.now() > deadline) throw new Error('ingest: deadline passed with a batch still not accepted');
      const ep = await sup.endpoint();
      stats.requests += 1;
      try {
        const res = await fetch(`${ep.url}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(20_000),
        });
        const text = await res.text();
        if (res.status === 202) {
          const json = JSON.parse(text) as { results: { status: string }[] };
          for (const r of json.results) {
            if (r.status === 'accepted') stats.accepted += 1;
            else if (r.status === 'duplicate') stats.duplicates += 1;
            else throw new Error(`ingest: event ${r.status}: ${text.slice(0, 500)}`);
          }
          break;
        }
        if (res.status < 500) throw new Error(`ingest: ${res.status} ${text.slice(0, 500)}`);
      } catch (err) {
        if (err instanceof Error && err.message.startsWith('ingest:')) throw err;
        // Connection refused/reset or timed out: the process died or is restarting.
      }
      stats.retries += 1;
      await sleep(50);
    }
  }
}

// ---------------------------------------------------------------- log and read models

/** Every Cairn event in `$all`, in log order. */
export async function readLog(connectionString: string): Promise<RecordedCairnEvent[]> {
  const events = CairnEventStore.connect(connectionString);
  try {
    const out: RecordedCairnEvent[] = [];
    for await (const resolved of events.client.readAll({ direction: 'forwards', fromPosition: 'start' })) {
      const e = toRecordedCairnEvent(resolved as never);
      if (e !== null) out.push(e);
    }
    return out;
  } finally {
    await events.close();
  }
}

export type StoreRef = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

export function storeUrl(ref: StoreRef): string {
  return ref.kind === 'sqlite' ? `sqlite:${ref.path}` : ref.url;
}

async function query<T>(ref: StoreRef, text: string): Promise<T[]> {
  if (ref.kind === 'sqlite') {
    let db: Database.Database;
    try {
      db = new Database(ref.path, { readonly: true, fileMustExist: true });
    } catch {
      return [];
    }
    try {
      return db.prepare(text).all() as T[];
    } finally {
      db.close();
    }
  }
  const c = new Client({ connectionString: ref.url });
  await c.connect();
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end().catch(() => undefined);
  }
}

export async function checkpoints(ref: StoreRef): Promise<Map<string, bigint>> {
  try {
    const rows = await query<{ projection: string; position: string | number }>(ref, 'select projection, position from checkpoints');
    return new Map(rows.map((r) => [r.projection, BigInt(r.position)]));
  } catch {
    return new Map(); // not migrated yet, or the store is unreachable for a moment
  }
}

/** Polls until every projection's checkpoint is at `head`; throws naming what it waited for. */
export async function waitCaughtUp(ref: StoreRef, projections: readonly string[], head: bigint, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = new Map<string, bigint>();
  while (Date.now() < deadline) {
    last = await checkpoints(ref);
    if (projections.every((p) => last.get(p) === head)) return;
    await sleep(100);
  }
  throw new Error(`projections not caught up to ${head} within ${timeoutMs} ms: ${JSON.stringify(Object.fromEntries([...last].map(([k, v]) => [k, String(v)])))}`);
}

/** Tables that legitimately differ between a faulty run and a clean build. */
const NOT_COMPARED = new Set([
  'schema_migrations',
  // Written by the API's ingest path, not by projections.
  'ingested_events',
  // The API's scheduled RFM runs: started at boot by wall-clock schedule, not derived from the log.
  'rfm_runs',
  'rfm_scores',
]);
const NOT_COMPARED_COLUMNS = new Set(['updated_at', 'events_processed']);

/** Every table's rows as sorted JSON strings, minus bookkeeping that legitimately differs. */
export async function dumpTables(ref: StoreRef): Promise<Record<string, string[]>> {
  const names =
    ref.kind === 'sqlite'
      ? (await query<{ name: string }>(ref, `select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`)).map((r) => r.name)
      : (await query<{ name: string }>(ref, `select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`)).map(
          (r) => r.name,
        );
  const out: Record<string, string[]> = {};
  for (const t of names.sort()) {
    if (NOT_COMPARED.has(t)) continue;
    const rows = await query<Record<string, unknown>>(ref, `select * from "${t}"`);
    out[t] = rows
      .map((row) => JSON.stringify(Object.fromEntries(Object.entries(row).filter(([k]) => !NOT_COMPARED_COLUMNS.has(k)))))
      .sort();
  }
  return out;
}

/** Per table: row counts and a few rows missing from / extra in `got`, empty when equal. */
export function diffTables(got: Record<string, string[]>, want: Record<string, string[]>): { table: string; rows: number; want: number; missing: string[]; extra: string[] }[] {
  const out = [];
  for (const table of [...new Set([...Object.keys(got), ...Object.keys(want)])].sort()) {
    const g = got[table] ?? [];
    const w = want[table] ?? [];
    const gs = new Set(g);
    const ws = new Set(w);
    const missing = w.filter((r) => !gs.has(r));
    const extra = g.filter((r) => !ws.has(r));
    if (missing.length > 0 || extra.length > 0 || g.length !== w.length) {
      out.push({ table, rows: g.length, want: w.length, missing: missing.slice(0, 2).map((r) => r.slice(0, 600)), extra: extra.slice(0, 2).map((r) => r.slice(0, 600)) });
    }
  }
  return out;
}
