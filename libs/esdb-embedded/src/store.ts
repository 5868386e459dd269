/**
 * The durable log: SQLite (WAL, synchronous=FULL) holding one row per event with its pre-encoded `ReadResp`
 * frame. Writes go through a group-commit queue: every append/delete/tombstone waiting when the queue is
 * flushed (on setImmediate) is validated in order against the state including earlier entries of the same
 * group, then all of them are written in ONE transaction (one fsync) and acknowledged only after it commits.
 *
 * One process at a time: the database is opened with SQLite's EXCLUSIVE locking mode and written once at
 * open, so the kernel lock on the file is held for the store's whole life and released when the process
 * ends (even by kill -9). A second opener is refused at once; `cairn.lock` (pid, host, command, start
 * time) only serves to name the holder in that refusal. The directory is 0700, its files 0600.
 *
 * Global positions are the log sequence (1, 2, 3, ...): commit == prepare == sequence, so they are > 0,
 * strictly increasing and contiguous. A small in-memory ring of the most recent frames serves live
 * subscribers; anyone further behind reads pages from SQLite.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'fs';
import { hostname } from 'os';
import { join } from 'path';
import { encodeEventFrame } from './proto';

/** `$tb` value EventStoreDB writes for a soft-deleted stream (long.MaxValue); any value >= 2^53 counts. */
const SOFT_DELETED_TB = '9223372036854775807';
const TOMBSTONE_REVISION = 9223372036854775807n;
const RECENT_IDS = 100_000;
const RING_EVENTS = 8192;
const RING_BYTES = 8 * 1024 * 1024;
/** A group of racing writers closes after this long without a new write… */
const GROUP_LULL_MS = 3;
/** …or this long after its first write, whichever comes first. */
const GROUP_MAX_WAIT_MS = 25;

export interface ProposedEvent {
  id: string;
  type: string;
  contentType: string;
  data: Buffer;
  metadata: Buffer;
}

export type Expected =
  | { kind: 'any' }
  | { kind: 'no_stream' }
  | { kind: 'stream_exists' }
  | { kind: 'revision'; revision: bigint };

export type WriteOutcome =
  | { ok: true; revision: number | undefined; position: number }
  | { ok: false; error: 'wrong-expected-version'; current: number | undefined }
  | { ok: false; error: 'stream-deleted' };

export interface StreamMeta {
  /** `$acl`: roles per operation (`r`, `w`, `d`, `mr`, `mw`), each given as a role or a list of roles. */
  acl?: Partial<Record<'r' | 'w' | 'd' | 'mr' | 'mw', string[]>>;
  maxCount?: number;
  maxAge?: number;
  tb?: number;
  softDeleted: boolean;
}

interface StreamState {
  id: number;
  name: string;
  /** -1 when the stream has no event. */
  lastRev: number;
  tombstoned: boolean;
  /** Raw JSON of the latest `$metadata` event of `$$name`, or null. */
  meta: string | null;
  parsed?: StreamMeta;
}

/** One row of the log as reads and subscriptions need it. */
export interface LogRow {
  pos: number;
  stream: number;
  rev: number;
  type: string;
  created: number;
  frame: Buffer;
}

type Op =
  | { kind: 'append'; stream: string; expected: Expected; events: ProposedEvent[] }
  | { kind: 'delete'; stream: string; expected: Expected }
  | { kind: 'tombstone'; stream: string; expected: Expected };

interface Pending {
  op: Op;
  resolve: (o: WriteOutcome) => void;
  reject: (e: unknown) => void;
}

interface StagedRow {
  pos: number;
  stream: number;
  rev: number | bigint;
  id: string;
  type: string;
  created: number;
  frame: Buffer;
}

/** A second process (or a second store in this one) tried to open a data directory that is in use. */
export class DataDirLockedError extends Error {
  readonly code = 'DATA_DIR_LOCKED';
  constructor(
    message: string,
    readonly holder: LockHolder | undefined,
  ) {
    super(message);
    this.name = 'DataDirLockedError';
  }
}

export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  since: string;
}

/** The last failed write, until a later write succeeds. */
export interface WriteFailure {
  message: string;
  code: string | undefined;
  at: Date;
}

const LOCK_FILE = 'cairn.lock';

function readLock(dir: string): LockHolder | undefined {
  try {
    const v = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as Partial<LockHolder>;
    return typeof v.pid === 'number' ? { pid: v.pid, host: String(v.host ?? '?'), command: String(v.command ?? '?'), since: String(v.since ?? '?') } : undefined;
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockedMessage(dir: string, holder: LockHolder | undefined): string {
  const base = `data directory ${dir} is in use by another process`;
  if (!holder) return `${base}; stop it before starting another one on the same directory`;
  const alive = holder.host !== hostname() ? `on host ${holder.host}` : pidAlive(holder.pid) ? 'still running' : 'not running here, another container?';
  return `${base}: pid ${holder.pid} (${alive}; \`${holder.command}\`, since ${holder.since}); stop it before starting another one on the same directory`;
}

export class Store {
  private readonly db: Database.Database;
  private readonly streams = new Map<string, StreamState>();
  private readonly byId = new Map<number, StreamState>();
  private nextStreamId = 1;
  private headPos = 0;
  private queue: Pending[] = [];
  private flushScheduled = false;
  private lastGroupSize = 0;
  private lastWriteAt = 0;
  private closed = false;
  private readonly waiters = new Set<() => void>();
  /** Most recent event ids → their position, for idempotent `any` appends. Insertion ordered, bounded. */
  private readonly recentIds = new Map<string, number>();
  /** Ring of the most recent rows, contiguous by position: ring[i].pos === ringFirst + i. */
  private ring: LogRow[] = [];
  private ringBytes = 0;

  private readonly stmt: {
    insertEvent: Database.Statement;
    upsertStream: Database.Statement;
    idAt: Database.Statement;
    posAt: Database.Statement;
    at: Database.Statement;
    allFwd: Database.Statement;
    allBwd: Database.Statement;
    streamFwd: Database.Statement;
    streamBwd: Database.Statement;
  };
  private readonly writeTx: (rows: StagedRow[], streams: StreamState[]) => void;
  private readonly probeStmt: Database.Statement;
  private failure: WriteFailure | undefined;
  private readonly lockDir: string | undefined;

  constructor(dataDir?: string) {
    if (dataDir) {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      const file = join(dataDir, 'esdb.sqlite');
      // SQLite gives -wal (and -journal) files the database file's mode: create it 0600 first.
      // Files of earlier versions (created 0644) become private too.
      for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) if (existsSync(f)) makePrivate(f);
      if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
      this.db = new Database(file, { timeout: 250 });
      try {
        this.db.pragma('locking_mode = EXCLUSIVE');
        this.db.pragma('journal_mode = WAL');
        this.db.pragma('synchronous = FULL');
        // Take the write lock now and keep it (exclusive mode never releases it until close).
        this.db.exec('CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY, at INTEGER NOT NULL); INSERT OR REPLACE INTO probe VALUES (1, 0)');
      } catch (err) {
        this.db.close();
        const code = (err as { code?: string }).code ?? '';
        if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
          const holder = readLock(dataDir);
          throw new DataDirLockedError(lockedMessage(dataDir, holder), holder);
        }
        throw err;
      }
      // We hold the lock: whatever the lock file said is stale (its process is gone). Name ourselves.
      const me: LockHolder = { pid: process.pid, host: hostname(), command: process.argv.slice(1).join(' ').slice(0, 300), since: new Date().toISOString() };
      writeFileSync(join(dataDir, LOCK_FILE), `${JSON.stringify(me)}\n`, { mode: 0o600 });
      chmodSync(join(dataDir, LOCK_FILE), 0o600);
      this.lockDir = dataDir;
    } else {
      this.db = new Database(':memory:');
      this.db.exec('CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY, at INTEGER NOT NULL)');
    }
    this.db.pragma('cache_size = -8000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS streams (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, last_rev INTEGER NOT NULL,
        tombstoned INTEGER NOT NULL DEFAULT 0, meta TEXT);
      CREATE TABLE IF NOT EXISTS events (
        pos INTEGER PRIMARY KEY, stream INTEGER NOT NULL, rev INTEGER NOT NULL, id TEXT NOT NULL,
        type TEXT NOT NULL, created INTEGER NOT NULL, frame BLOB NOT NULL);
      CREATE UNIQUE INDEX IF NOT EXISTS events_stream_rev ON events(stream, rev);
    `);
    this.stmt = {
      insertEvent: this.db.prepare('INSERT INTO events (pos, stream, rev, id, type, created, frame) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      upsertStream: this.db.prepare(
        `INSERT INTO streams (id, name, last_rev, tombstoned, meta) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET last_rev = excluded.last_rev, tombstoned = excluded.tombstoned, meta = excluded.meta`,
      ),
      idAt: this.db.prepare('SELECT id FROM events WHERE stream = ? AND rev = ?').pluck(),
      posAt: this.db.prepare('SELECT pos FROM events WHERE stream = ? AND rev = ?').pluck(),
      at: this.db.prepare('SELECT stream, rev FROM events WHERE pos = ?'),
      allFwd: this.db.prepare('SELECT pos, stream, rev, type, created, frame FROM events WHERE pos >= ? ORDER BY pos LIMIT ?'),
      allBwd: this.db.prepare('SELECT pos, stream, rev, type, created, frame FROM events WHERE pos <= ? ORDER BY pos DESC LIMIT ?'),
      streamFwd: this.db.prepare(
        'SELECT pos, stream, rev, type, created, frame FROM events WHERE stream = ? AND rev >= ? AND rev <= ? ORDER BY rev LIMIT ?',
      ),
      streamBwd: this.db.prepare(
        'SELECT pos, stream, rev, type, created, frame FROM events WHERE stream = ? AND rev <= ? AND rev >= ? ORDER BY rev DESC LIMIT ?',
      ),
    };
    this.probeStmt = this.db.prepare('INSERT OR REPLACE INTO probe (id, at) VALUES (1, ?)');
    this.writeTx = this.db.transaction((rows: StagedRow[], streams: StreamState[]) => {
      for (const r of rows) this.stmt.insertEvent.run(r.pos, r.stream, r.rev, r.id, r.type, r.created, r.frame);
      for (const s of streams) this.stmt.upsertStream.run(s.id, s.name, s.lastRev, s.tombstoned ? 1 : 0, s.meta);
    });
    this.load();
  }

  private load(): void {
    const rows = this.db.prepare('SELECT id, name, last_rev AS lastRev, tombstoned, meta FROM streams').all() as Array<{
      id: number;
      name: string;
      lastRev: number;
      tombstoned: number;
      meta: string | null;
    }>;
    for (const r of rows) {
      const s: StreamState = { id: r.id, name: r.name, lastRev: r.lastRev, tombstoned: r.tombstoned === 1, meta: r.meta };
      this.streams.set(s.name, s);
      this.byId.set(s.id, s);
      if (s.id >= this.nextStreamId) this.nextStreamId = s.id + 1;
    }
    this.headPos = (this.db.prepare('SELECT MAX(pos) FROM events').pluck().get() as number | null) ?? 0;
    const recent = this.db.prepare('SELECT pos, id FROM events ORDER BY pos DESC LIMIT ?').all(RECENT_IDS) as Array<{ pos: number; id: string }>;
    for (let i = recent.length - 1; i >= 0; i--) this.recentIds.set(recent[i].id, recent[i].pos);
  }

  get head(): number {
    return this.headPos;
  }

  streamNameOf(id: number): string {
    return this.byId.get(id)?.name ?? '';
  }

  // ---------------------------------------------------------------- writes (group commit)

  write(op: Op): Promise<WriteOutcome> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ op, resolve, reject });
      this.lastWriteAt = performance.now();
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // Group commit: a lone writer is flushed at once; when the last group had several writers (they are
        // racing), the group gathers writes while they keep coming (a 1 ms lull ends it), for at most
        // GROUP_MAX_WAIT_MS: writes that trickle in (a bulk import whose appends reach the node through
        // gRPC flow-control windows in the same process) would otherwise be split into fsyncs of ~3.
        if (this.lastGroupSize > 1) {
          const first = this.lastWriteAt;
          const check = () => {
            const now = performance.now();
            if (now - this.lastWriteAt < GROUP_LULL_MS && now - first < GROUP_MAX_WAIT_MS) setTimeout(check, 1);
            else this.flush();
          };
          setTimeout(check, 1);
        } else setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    this.lastGroupSize = batch.length;
    if (batch.length === 0) return;
    const overlay = new Map<string, StreamState>();
    const rows: StagedRow[] = [];
    const stagedIds = new Map<string, string>(); // `${stream}:${rev}` → event id, for idempotency inside the group
    const created = Date.now();
    let pos = this.headPos;
    // Stream ids are handed out while staging; a group that fails to commit gives them back.
    const firstStreamId = this.nextStreamId;
    const outcomes: WriteOutcome[] = [];
    const snapshot = (name: string): StreamState => {
      let s = overlay.get(name);
      if (!s) {
        const cur = this.streams.get(name);
        s = cur ? { ...cur } : { id: this.nextStreamId++, name, lastRev: -1, tombstoned: false, meta: null };
        overlay.set(name, s);
      }
      return s;
    };
    const idAt = (stream: number, rev: number): string | undefined =>
      stagedIds.get(`${stream}:${rev}`) ?? (this.stmt.idAt.get(stream, rev) as string | undefined);
    const emit = (s: StreamState, rev: number | bigint, e: ProposedEvent): number => {
      pos += 1;
      const frame = encodeEventFrame({
        id: e.id,
        streamName: s.name,
        revision: rev,
        position: pos,
        type: e.type,
        contentType: e.contentType,
        created,
        customMetadata: e.metadata,
        data: e.data,
      });
      rows.push({ pos, stream: s.id, rev, id: e.id, type: e.type, created, frame });
      if (typeof rev === 'number') stagedIds.set(`${s.id}:${rev}`, e.id);
      return pos;
    };
    const appendEvents = (s: StreamState, events: ProposedEvent[]): WriteOutcome => {
      if (parseMeta(s.meta).softDeleted && events.length > 0) {
        // Writing to a soft-deleted stream recreates it: its metadata now truncates before the new events.
        const meta = snapshot(`$$${s.name}`);
        const json = withTruncateBefore(s.meta, String(s.lastRev + 1));
        emit(meta, meta.lastRev + 1, metadataEvent(json));
        meta.lastRev += 1;
        s.meta = json;
      }
      let last = pos;
      for (const e of events) {
        s.lastRev += 1;
        last = emit(s, s.lastRev, e);
        if (s.name.startsWith('$$') && e.type === '$metadata') this.applyMetadata(snapshot(s.name.slice(2)), e);
      }
      return { ok: true, revision: s.lastRev < 0 ? undefined : s.lastRev, position: last };
    };
    for (const { op } of batch) {
      const s = snapshot(op.stream);
      if (s.tombstoned) {
        outcomes.push({ ok: false, error: 'stream-deleted' });
        continue;
      }
      const softDeleted = parseMeta(s.meta).softDeleted;
      const current = s.lastRev < 0 || softDeleted ? undefined : s.lastRev;
      const wrong: WriteOutcome = { ok: false, error: 'wrong-expected-version', current: s.lastRev < 0 ? undefined : s.lastRev };
      if (op.kind === 'append') {
        const idem = this.idempotent(s, op.expected, op.events, idAt, softDeleted);
        if (idem === 'corrupted') outcomes.push(wrong);
        else if (idem !== undefined) outcomes.push({ ok: true, revision: idem, position: this.positionOf(s.id, idem, rows) });
        else if (!matches(op.expected, s.lastRev, current)) outcomes.push(wrong);
        else outcomes.push(appendEvents(s, op.events));
      } else if (!matches(op.expected, s.lastRev, current) || (op.kind === 'delete' && s.lastRev < 0)) {
        // Soft-deleting a stream that never had an event is a wrong expected version in EventStoreDB, whatever was expected.
        outcomes.push(wrong);
      } else if (op.kind === 'delete') {
        const meta = snapshot(`$$${s.name}`);
        const json = withTruncateBefore(s.meta, SOFT_DELETED_TB);
        meta.lastRev += 1;
        const p = emit(meta, meta.lastRev, metadataEvent(json));
        s.meta = json;
        outcomes.push({ ok: true, revision: undefined, position: p });
      } else {
        const p = emit(s, TOMBSTONE_REVISION, {
          id: randomUuid(),
          type: '$streamDeleted',
          contentType: 'application/json',
          data: Buffer.alloc(0),
          metadata: Buffer.alloc(0),
        });
        s.tombstoned = true;
        outcomes.push({ ok: true, revision: undefined, position: p });
      }
    }
    try {
      if (rows.length > 0 || overlay.size > 0) this.writeTx(rows, [...overlay.values()]);
    } catch (err) {
      // Nothing of the group is durable nor visible: SQLite rolled the transaction back (we make sure
      // of it), and no in-memory state (streams, head, recent ids, ring, stream ids) moved.
      this.nextStreamId = firstStreamId;
      this.recordFailure(err);
      for (const p of batch) p.reject(err);
      return;
    }
    this.failure = undefined;
    // Durable: publish the new state, then acknowledge and wake readers.
    for (const s of overlay.values()) {
      s.parsed = undefined;
      this.streams.set(s.name, s);
      this.byId.set(s.id, s);
    }
    this.headPos = pos;
    for (const r of rows) {
      if (typeof r.rev === 'number') {
        this.recentIds.delete(r.id);
        this.recentIds.set(r.id, r.pos);
      }
      this.pushRing({ pos: r.pos, stream: r.stream, rev: Number(r.rev), type: r.type, created: r.created, frame: r.frame });
    }
    while (this.recentIds.size > RECENT_IDS) this.recentIds.delete(this.recentIds.keys().next().value as string);
    batch.forEach((p, i) => p.resolve(outcomes[i]));
    if (rows.length > 0) {
      const ws = [...this.waiters];
      this.waiters.clear();
      for (const w of ws) w();
    }
  }

  private recordFailure(err: unknown): void {
    if (this.db.open && this.db.inTransaction) {
      try {
        this.db.exec('ROLLBACK');
      } catch {
        // The connection is unusable; the next write fails the same way and is reported.
      }
    }
    const e = err as { message?: string; code?: string };
    this.failure = { message: String(e?.message ?? err), code: typeof e?.code === 'string' ? e.code : undefined, at: new Date() };
  }

  /** The last append that failed (disk full, I/O error…), until an append succeeds again. */
  get lastWriteFailure(): WriteFailure | undefined {
    return this.failure;
  }

  /**
   * Writes and syncs one tiny row, the way an append would (readiness checks: a full disk or a failing
   * device shows here even when no client writes). Throws the SQLite error. A success does not clear
   * `lastWriteFailure`: a one-row write may fit where an append does not.
   */
  probeWrite(): void {
    if (this.closed) throw new Error('store is closed');
    try {
      this.probeStmt.run(Date.now());
    } catch (err) {
      this.recordFailure(err);
      throw err;
    }
  }

  private applyMetadata(target: StreamState, e: ProposedEvent): void {
    try {
      const parsed: unknown = JSON.parse(e.data.toString('utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) target.meta = e.data.toString('utf8');
    } catch {
      // Not JSON: EventStoreDB ignores unparseable metadata too.
    }
  }

  /**
   * EventStoreDB's idempotency rules: the same event ids re-sent after the same expected revision succeed
   * without writing anything. Returns the revision of the last matching event, 'corrupted' when only a prefix
   * matches (reported as wrong expected version), or undefined when the append is not a retry.
   */
  private idempotent(
    s: StreamState,
    expected: Expected,
    events: ProposedEvent[],
    idAt: (stream: number, rev: number) => string | undefined,
    softDeleted: boolean,
  ): number | 'corrupted' | undefined {
    if (events.length === 0 || s.lastRev < 0) return undefined;
    let first: number;
    if (expected.kind === 'revision') {
      if (expected.revision >= BigInt(s.lastRev)) return undefined;
      first = Number(expected.revision) + 1;
    } else if (expected.kind === 'no_stream') {
      if (softDeleted) return undefined;
      first = 0;
    } else if (expected.kind === 'any') {
      // Only recently written ids are remembered (as in EventStoreDB, whose `any` idempotency is best-effort).
      const pos = this.recentIds.get(events[0].id);
      const hit = pos === undefined ? undefined : (this.stmt.at.get(pos) as { stream: number; rev: number } | undefined);
      if (!hit || hit.stream !== s.id) return undefined;
      first = hit.rev;
    } else {
      return undefined;
    }
    let matched = 0;
    for (let i = 0; i < events.length; i++) {
      const rev = first + i;
      if (rev > s.lastRev || idAt(s.id, rev) !== events[i].id) break;
      matched++;
    }
    if (matched === events.length) return first + matched - 1;
    if (matched > 0) return 'corrupted';
    return undefined;
  }

  private positionOf(stream: number, rev: number, staged: StagedRow[]): number {
    for (const r of staged) if (r.stream === stream && r.rev === rev) return r.pos;
    return (this.stmt.posAt.get(stream, rev) as number | undefined) ?? 0;
  }

  private pushRing(row: LogRow): void {
    this.ring.push(row);
    this.ringBytes += row.frame.length;
    if (this.ring.length > RING_EVENTS * 2 || this.ringBytes > RING_BYTES) {
      let drop = Math.max(0, this.ring.length - RING_EVENTS);
      let bytes = this.ringBytes;
      for (let i = 0; i < drop; i++) bytes -= this.ring[i].frame.length;
      while (bytes > RING_BYTES / 2 && drop < this.ring.length - 1) bytes -= this.ring[drop++].frame.length;
      this.ring = this.ring.slice(drop);
      this.ringBytes = bytes;
    }
  }

  // ---------------------------------------------------------------- reads

  /** Stream state for reads: undefined when no such stream was ever written. */
  stream(name: string): { id: number; lastRev: number; tombstoned: boolean; meta: StreamMeta } | undefined {
    const s = this.streams.get(name);
    if (!s) return undefined;
    s.parsed ??= parseMeta(s.meta);
    return { id: s.id, lastRev: s.lastRev, tombstoned: s.tombstoned, meta: s.parsed };
  }

  /** $all forwards from `fromPos` inclusive. */
  readAllForward(fromPos: number, limit: number): LogRow[] {
    const first = this.ring.length > 0 ? this.ring[0].pos : Infinity;
    if (fromPos >= first) {
      const start = fromPos - first;
      return this.ring.slice(start, start + limit);
    }
    return this.stmt.allFwd.all(fromPos, limit) as LogRow[];
  }

  /** $all backwards from `fromPos` inclusive. */
  readAllBackward(fromPos: number, limit: number): LogRow[] {
    return this.stmt.allBwd.all(fromPos, limit) as LogRow[];
  }

  readStreamForward(stream: number, fromRev: number, toRev: number, limit: number): LogRow[] {
    return this.stmt.streamFwd.all(stream, fromRev, toRev, limit) as LogRow[];
  }

  readStreamBackward(stream: number, fromRev: number, downToRev: number, limit: number): LogRow[] {
    return this.stmt.streamBwd.all(stream, fromRev, downToRev, limit) as LogRow[];
  }

  /** Resolves once something is committed after `pos` (immediately if already so), or the store closes. */
  waitForCommitAfter(pos: number): { promise: Promise<void>; cancel: () => void } {
    if (this.headPos > pos || this.closed) return { promise: Promise.resolve(), cancel: () => undefined };
    let waiter!: () => void;
    const promise = new Promise<void>((resolve) => {
      waiter = resolve;
    });
    this.waiters.add(waiter);
    return {
      promise,
      cancel: () => {
        this.waiters.delete(waiter);
        waiter();
      },
    };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Flushes pending writes, wakes every waiter and closes SQLite. */
  close(): void {
    if (this.closed) return;
    if (this.queue.length > 0) this.flush();
    this.closed = true;
    for (const w of this.waiters) w();
    this.waiters.clear();
    this.db.close();
    if (this.lockDir !== undefined && readLock(this.lockDir)?.pid === process.pid) {
      try {
        unlinkSync(join(this.lockDir, LOCK_FILE));
      } catch {
        // Gone already: nothing to release (the SQLite lock went with the connection).
      }
    }
  }
}

function matches(expected: Expected, lastRev: number, current: number | undefined): boolean {
  switch (expected.kind) {
    case 'any':
      return true;
    case 'no_stream':
      return current === undefined;
    case 'stream_exists':
      return current !== undefined;
    case 'revision':
      return lastRev >= 0 && expected.revision === BigInt(lastRev);
  }
}

export function parseMeta(json: string | null): StreamMeta {
  if (!json) return { softDeleted: false };
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return { softDeleted: false };
  }
  const int = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined);
  const tb = int(raw.$tb);
  let acl: StreamMeta['acl'];
  if (raw.$acl && typeof raw.$acl === 'object' && !Array.isArray(raw.$acl)) {
    acl = {};
    for (const op of ['r', 'w', 'd', 'mr', 'mw'] as const) {
      const v = (raw.$acl as Record<string, unknown>)[`$${op}`];
      if (typeof v === 'string') acl[op] = [v];
      else if (Array.isArray(v)) acl[op] = v.filter((x): x is string => typeof x === 'string');
    }
  }
  return {
    acl,
    maxCount: int(raw.$maxCount),
    maxAge: int(raw.$maxAge),
    tb,
    softDeleted: tb !== undefined && tb >= Number.MAX_SAFE_INTEGER,
  };
}

/** Rewrites `$tb` in a metadata JSON text, keeping every other key (the number is spliced in as text). */
function withTruncateBefore(json: string | null, tb: string): string {
  let obj: Record<string, unknown> = {};
  try {
    obj = json ? (JSON.parse(json) as Record<string, unknown>) : {};
  } catch {
    obj = {};
  }
  delete obj.$tb;
  const rest = JSON.stringify(obj);
  return rest === '{}' ? `{"$tb":${tb}}` : `{"$tb":${tb},${rest.slice(1)}`;
}

function metadataEvent(json: string): ProposedEvent {
  return { id: randomUuid(), type: '$metadata', contentType: 'application/json', data: Buffer.from(json, 'utf8'), metadata: Buffer.alloc(0) };
}

function randomUuid(): string {
  return globalThis.crypto.randomUUID();
}

/** chmod 0600, best effort: a file we may not chmod (another owner) is still opened as it is. */
function makePrivate(file: string): void {
  try {
    chmodSync(file, 0o600);
  } catch {
    // Not ours to change; SQLite opens it anyway (or reports why it cannot).
  }
}
