/**
 * Operations commands, talking to a running Cairn over HTTP with an admin key (their options are
 * declared and parsed in main.ts): `cairn projections status|parked|retry-parked`, `cairn rebuild`,
 * `cairn replay`, `cairn keys list|create|revoke|rotate`, `cairn audit`.
 *
 * Long jobs show a progress bar on a terminal (done / total, rate, ETA) and plain log lines otherwise.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { dirname, join, resolve } from 'path';
import { SingleBar } from 'cli-progress';

export interface CliIo {
  readonly out: NodeJS.WritableStream & { isTTY?: boolean };
  /** Poll interval for jobs. */
  readonly pollMs?: number;
}

/** Where a client command sends its requests, resolved from --url/--key or CAIRN_URL/CAIRN_KEY. */
export interface Connection {
  readonly url: string;
  readonly key: string;
}

interface Client {
  get(path: string): Promise<Record<string, unknown>>;
  post(path: string, body: unknown): Promise<Record<string, unknown>>;
  delete(path: string): Promise<Record<string, unknown>>;
}

function client(conn: Connection): Client {
  const base = conn.url;
  const headers = { authorization: `Bearer ${conn.key}`, 'content-type': 'application/json' };
  const call = async (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      throw new Error(`cannot reach Cairn at ${base}: ${(err as Error).message}`);
    }
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) {
      const e = (json.error ?? {}) as { code?: string; message?: string; fields?: { field: string; message: string }[] };
      const fields = e.fields?.map((f) => `\n  ${f.field}: ${f.message}`).join('') ?? '';
      throw new Error(`${res.status} ${e.code ?? ''} ${e.message ?? res.statusText}${fields}`.trim());
    }
    return json;
  };
  return { get: (p) => call('GET', p), post: (p, b) => call('POST', p, b), delete: (p) => call('DELETE', p) };
}

const write = (io: CliIo, line: string) => io.out.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '?';
  if (seconds < 60) return `${Math.round(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${Math.round(seconds % 60)}s`;
  return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
}

interface JobProgress {
  done: number;
  total: number;
  rate: number;
  etaSeconds: number | null;
}

/** A bar on a TTY, a log line per second otherwise. */
export function progressReporter(io: CliIo, label: string, unit = 'events', rateUnit = 'ev/s') {
  if (io.out.isTTY) {
    const bar = new SingleBar({
      stream: io.out,
      format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate} ${rateUnit} | ETA {etaText}`,
      hideCursor: true,
    });
    let started = false;
    return {
      update(p: JobProgress) {
        if (!started) {
          bar.start(Math.max(1, p.total), 0, { rate: 0, etaText: '?' });
          started = true;
        }
        bar.setTotal(Math.max(1, p.total, p.done));
        // The server's ETA: cli-progress's own is NaN/Infinity ('NFs') until it has two samples.
        bar.update(p.done, { rate: p.rate, etaText: duration(p.etaSeconds) });
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  let last = 0;
  return {
    update(p: JobProgress, phase = '') {
      if (Date.now() - last < 1000) return;
      last = Date.now();
      const pct = p.total > 0 ? Math.floor((100 * p.done) / p.total) : 0;
      write(io, `${label}${phase ? ` ${phase}` : ''}: ${p.done}/${p.total} ${unit} (${pct}%), ${p.rate} ${rateUnit}, ETA ${duration(p.etaSeconds)}`);
    },
    stop() {},
  };
}

export function projectionsCommand(io: CliIo = { out: process.stdout }) {
  return async (sub: 'status' | 'parked' | 'retry-parked', flags: { projection?: string; limit?: number; json?: boolean }, conn: Connection): Promise<void> => {
    const api = client(conn);
    const json = flags.json === true;
    const query = flags.projection ? `projection=${encodeURIComponent(flags.projection)}` : '';
    if (sub === 'status') {
      const { projections } = (await api.get('/v1/admin/projections')) as { projections: Record<string, unknown>[] };
      if (json) return void write(io, JSON.stringify(projections, null, 2));
      const rows = [['projection', 'version', 'state', 'checkpoint', 'lag', 'lag (s)', 'rate', 'parked', 'last error']];
      for (const p of projections) {
        const lag = p.lag as { events: number; capped: boolean; seconds: number };
        const rebuild = p.rebuild as { phase: string; done: number; total: number } | null;
        rows.push([
          String(p.name),
          `v${p.version}${p.builtVersion !== null && p.builtVersion !== p.version ? ` (built by v${p.builtVersion})` : ''}`,
          rebuild ? `${p.state} ${rebuild.done}/${rebuild.total}` : String(p.state),
          String(p.checkpoint ?? '-'),
          `${lag.events}${lag.capped ? '+' : ''}`,
          lag.seconds.toFixed(1),
          `${p.rate}/s`,
          String(p.parked),
          String(p.lastError ?? ''),
        ]);
      }
      return void write(io, table(rows));
    }
    if (sub === 'parked') {
      const limit = flags.limit !== undefined ? `limit=${flags.limit}` : '';
      const qs = [query, limit].filter(Boolean).join('&');
      const { parked } = (await api.get(`/v1/admin/parked${qs ? `?${qs}` : ''}`)) as { parked: Record<string, unknown>[] };
      if (json) return void write(io, JSON.stringify(parked, null, 2));
      if (parked.length === 0) return void write(io, 'no parked events');
      const rows = [['projection', 'version', 'event', 'position', 'type', 'attempts', 'parked at', 'error']];
      for (const p of parked) rows.push([String(p.projection), `v${p.projectionVersion}`, String(p.eventId), String(p.position), String(p.type), String(p.attempts), String(p.parkedAt), String(p.error)]);
      return void write(io, table(rows));
    }
    if (sub === 'retry-parked') {
      const { results } = (await api.post('/v1/admin/parked/retry', flags.projection ? { projection: flags.projection } : {})) as {
        results: { projection: string; retried: number; stillFailing: { eventId: string; error: string }[] }[];
      };
      if (json) return void write(io, JSON.stringify(results, null, 2));
      for (const r of results) {
        write(io, `${r.projection}: ${r.retried} retried, ${r.stillFailing.length} still failing`);
        for (const f of r.stillFailing) write(io, `  ${f.eventId}: ${f.error}`);
      }
      if (results.some((r) => r.stillFailing.length > 0)) process.exitCode = 1;
      return;
    }
  };
}

export function rebuildCommand(io: CliIo = { out: process.stdout }) {
  return async (target: string, flags: { keepOld?: boolean; strict?: boolean }, conn: Connection): Promise<void> => {
    const api = client(conn);
    const names = target.split(',').map((s) => s.trim()).filter(Boolean);
    const started = (await api.post('/v1/admin/rebuilds', { projections: names, keepOld: flags.keepOld === true, strict: flags.strict === true })) as unknown as { id: string; resumed: boolean };
    write(io, `rebuild ${target} started (job ${started.id}${started.resumed ? ', resuming' : ''})`);
    const bar = progressReporter(io, `rebuild ${target}`);
    for (;;) {
      const s = (await api.get(`/v1/admin/rebuilds/${encodeURIComponent(started.id)}`)) as unknown as JobProgress & {
        phase: string;
        error: string | null;
        failedEvent: Record<string, string> | null;
        keptTables?: string[];
        parked?: Record<string, number>;
        parkedEvents?: { projection: string; id: string; position: string; type: string; error: string }[];
      };
      if (s.phase === 'building' || s.phase === 'switching') {
        bar.update(s, s.phase);
        await sleep(io.pollMs ?? 250);
        continue;
      }
      bar.update({ ...s, total: s.done }, s.phase);
      bar.stop();
      if (s.phase === 'switched') {
        write(io, `rebuild ${target} switched: ${s.done} events${s.keptTables?.length ? `; old rows kept in ${s.keptTables.join(', ')}` : ''}`);
        const parked = Object.entries(s.parked ?? {}).filter(([, n]) => n > 0);
        if (parked.length > 0) {
          write(io, `parked (events a projection could not fold; see cairn projections parked): ${parked.map(([p, n]) => `${p} ${n}`).join(', ')}`);
          for (const e of s.parkedEvents ?? []) write(io, `  ${e.projection}: event ${e.id} at ${e.position} (${e.type}): ${e.error}`);
        }
        return;
      }
      const at = s.failedEvent ? ` at event ${s.failedEvent.id} (position ${s.failedEvent.position}, ${s.failedEvent.type}, projection ${s.failedEvent.projection})` : '';
      throw new Error(`rebuild ${target} (job ${started.id}) ${s.phase}${at}: ${s.error ?? ''}`);
    }
  };
}

export function replayCommand(io: CliIo = { out: process.stdout }) {
  return async (flags: { projections?: string; asOf?: string; knownAt?: string; rules?: string; out?: string }, conn: Connection): Promise<void> => {
    const api = client(conn);
    let rules: Record<string, unknown> | undefined;
    if (flags.rules) {
      try {
        rules = JSON.parse(readFileSync(resolve(flags.rules), 'utf8')) as Record<string, unknown>;
      } catch (err) {
        throw new Error(`--rules ${flags.rules}: ${(err as Error).message}`);
      }
    }
    const body = {
      projections: flags.projections ? flags.projections.split(',').map((s) => s.trim()).filter(Boolean) : [],
      ...(flags.asOf ? { asOf: flags.asOf } : {}),
      ...(flags.knownAt ? { knownAt: flags.knownAt } : {}),
      ...(rules ? { rules } : {}),
    };
    const started = (await api.post('/v1/admin/replays', body)) as { id: string };
    const bar = progressReporter(io, `replay ${started.id.slice(0, 8)}`);
    let status: { state: string; error: string | null; progress: JobProgress & { phase: string }; summary: unknown };
    for (;;) {
      status = (await api.get(`/v1/admin/replays/${started.id}`)) as typeof status;
      if (status.state !== 'running') break;
      bar.update(status.progress, status.progress.phase);
      await sleep(io.pollMs ?? 250);
    }
    bar.stop();
    if (status.state !== 'done') throw new Error(`replay failed: ${status.error ?? 'unknown error'}`);
    const { files } = (await api.get(`/v1/admin/replays/${started.id}/files`)) as { files: Record<string, string> };
    const out = resolve(flags.out ?? 'replay');
    for (const [path, content] of Object.entries(files)) {
      const target = join(out, path);
      if (!target.startsWith(out)) throw new Error(`refusing to write outside ${out}: ${path}`);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, content);
    }
    write(io, `replay written to ${out} (${Object.keys(files).length} files)`);
    const summary = status.summary as {
      events: Record<string, number>;
      tables: Record<string, { rows: number }>;
      whatIf: { tables: Record<string, Record<string, number>>; areas: Record<string, Record<string, unknown>> } | null;
    };
    write(io, `events: ${Object.entries(summary.events).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    for (const [t, info] of Object.entries(summary.tables)) {
      const d = summary.whatIf?.tables[t];
      write(io, `  ${t}: ${info.rows} rows${d ? ` | what-if: +${d.added} -${d.removed} ~${d.changed}` : ''}`);
    }
    // An area's what-if in one line (its counts and changes); the lists are in what-if/<area>/.
    const signed = (n: number) => (n > 0 ? `+${n}` : String(n));
    const brief = (v: unknown): string | null => {
      if (typeof v === 'number') return String(v);
      if (v === null || typeof v !== 'object') return null;
      const o = v as Record<string, unknown>;
      if (typeof o.count === 'number') return String(o.count);
      if (typeof o.change === 'number') return `${signed(o.change)} (${String(o.before)} → ${String(o.after)})`;
      const parts = Object.entries(o).flatMap(([k, x]) => (x !== null && typeof x === 'object' && typeof (x as { change?: unknown }).change === 'number' ? [`${k} ${brief(x)}`] : []));
      return parts.length > 0 ? parts.join(', ') : null;
    };
    for (const [area, answer] of Object.entries(summary.whatIf?.areas ?? {})) {
      const parts = Object.entries(answer ?? {}).flatMap(([k, v]) => {
        const b = brief(v);
        return b === null ? [] : [`${k} ${b}`];
      });
      write(io, `  what-if ${area}: ${parts.join(' | ')} (lists in ${join(out, 'what-if', area)})`);
    }
  };
}

interface KeyView {
  id: string;
  name: string;
  scopes: string[];
  state: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  rotatedFrom: string | null;
  source: string;
  key?: string;
  previous?: KeyView;
}

/** `cairn keys list | create | revoke <id> | rotate <id>`. */
export function keysCommand(io: CliIo = { out: process.stdout }) {
  const path = (id: string) => `/v1/admin/keys/${encodeURIComponent(id)}`;
  const expiry = (expiresAt: string | undefined) => (expiresAt ? { expiresAt } : {});
  const showSecret = (k: KeyView, json: boolean | undefined) => {
    if (json) return void write(io, JSON.stringify(k, null, 2));
    write(io, `key ${k.id} (${k.name}: ${k.scopes.join(',')})${k.expiresAt ? `, expires ${k.expiresAt}` : ''}`);
    write(io, `secret (shown only this once): ${k.key}`);
  };
  return {
    async list(flags: { json?: boolean }, conn: Connection): Promise<void> {
      const { keys } = (await client(conn).get('/v1/admin/keys')) as unknown as { keys: KeyView[] };
      if (flags.json) return void write(io, JSON.stringify(keys, null, 2));
      const rows = [['id', 'name', 'scopes', 'state', 'created', 'expires', 'last used']];
      for (const k of keys) rows.push([k.id, k.name, k.scopes.join(','), k.source === 'config' ? `${k.state} (CAIRN_ADMIN_KEY)` : k.state, k.createdAt, k.expiresAt ?? '-', k.lastUsedAt ?? '-']);
      write(io, table(rows));
    },
    async create(flags: { name: string; scopes: string; expiresAt?: string; json?: boolean }, conn: Connection): Promise<void> {
      const scopes = flags.scopes.split(',').map((s) => s.trim()).filter(Boolean);
      showSecret((await client(conn).post('/v1/admin/keys', { name: flags.name, scopes, ...expiry(flags.expiresAt) })) as unknown as KeyView, flags.json);
    },
    async revoke(id: string, flags: { json?: boolean }, conn: Connection): Promise<void> {
      const k = (await client(conn).delete(path(id))) as unknown as KeyView;
      write(io, flags.json ? JSON.stringify(k, null, 2) : `key ${k.id} (${k.name}) revoked at ${k.revokedAt}`);
    },
    async rotate(id: string, flags: { grace?: number; expiresAt?: string; json?: boolean }, conn: Connection): Promise<void> {
      const body = { ...(flags.grace !== undefined ? { graceSeconds: flags.grace } : {}), ...expiry(flags.expiresAt) };
      const k = (await client(conn).post(`${path(id)}/rotate`, body)) as unknown as KeyView;
      showSecret(k, flags.json);
      if (!flags.json && k.previous) write(io, k.previous.revokedAt ? `old key ${k.previous.id} revoked` : `old key ${k.previous.id} stays valid until ${k.previous.expiresAt}`);
    },
  };
}

interface AuditEntryView {
  id: string;
  action: string;
  actor: { keyId: string; keyName: string };
  at: string;
  targets: Record<string, string | string[]>;
  outcome: string;
  statusCode: number | null;
  errorCode: string | null;
}

/** `cairn audit`: the audit log, newest first (--all follows the pages; otherwise one page and its cursor). */
export function auditCommand(io: CliIo = { out: process.stdout }) {
  return async (flags: { action?: string; actor?: string; from?: string; to?: string; limit?: number; after?: string; all?: boolean; json?: boolean }, conn: Connection): Promise<void> => {
    const entries: AuditEntryView[] = [];
    let after = flags.after;
    let next: string | null = null;
    for (;;) {
      const q = new URLSearchParams();
      for (const k of ['action', 'actor', 'from', 'to'] as const) if (flags[k] !== undefined) q.set(k, flags[k]!);
      q.set('limit', String(flags.limit ?? 50));
      if (after) q.set('after', after);
      const page = (await client(conn).get(`/v1/admin/audit?${q}`)) as unknown as { entries: AuditEntryView[]; nextCursor: string | null };
      entries.push(...page.entries);
      next = page.nextCursor;
      if (!flags.all || next === null) break;
      after = next;
    }
    if (flags.json) return void write(io, JSON.stringify(flags.all ? { entries } : { entries, nextCursor: next }, null, 2));
    const targets = (t: Record<string, string | string[]>) => Object.entries(t).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : v}`).join(' ') || '-';
    const rows = [['at', 'action', 'key', 'outcome', 'targets']];
    for (const e of entries) rows.push([e.at, e.action, `${e.actor.keyName} (${e.actor.keyId})`, e.statusCode === null ? e.outcome : `${e.outcome} ${e.statusCode}${e.errorCode ? ` ${e.errorCode}` : ''}`, targets(e.targets)]);
    write(io, entries.length === 0 ? 'no audited actions' : table(rows));
    if (!flags.all && next !== null) write(io, `more: cairn audit --after ${next}`);
  };
}

interface ErasureView {
  erasureId: string;
  requested: { customerId?: string; anonymousId?: string };
  reason: string;
  reference: string | null;
  actor: string;
  erasedAt: string;
  customerIds: string[];
  anonymousIds: string[];
  keysDestroyed: string[];
  position: string | null;
}

/** `cairn privacy export | erase | erasure` (docs/privacy.md). */
export function privacyCommand(io: CliIo = { out: process.stdout }) {
  const show = (e: ErasureView, json: boolean | undefined) => {
    if (json) return void write(io, JSON.stringify(e, null, 2));
    write(io, `erasure ${e.erasureId} at ${e.erasedAt} (${e.reason}${e.reference ? `, ${e.reference}` : ''}, by ${e.actor})`);
    write(io, `  customer ids: ${e.customerIds.join(', ') || '-'}`);
    write(io, `  anonymous ids: ${e.anonymousIds.join(', ') || '-'}`);
    write(io, `  data keys destroyed: ${e.keysDestroyed.length}${e.keysDestroyed.length > 0 ? ` (${e.keysDestroyed.join(', ')})` : ''}`);
  };
  return {
    /** Streams the export document to `--out` (or stdout) as it arrives. */
    async export(id: string, flags: { out?: string }, conn: Connection): Promise<void> {
      let res: Response;
      try {
        res = await fetch(`${conn.url}/v1/privacy/customers/${encodeURIComponent(id)}/export`, { headers: { authorization: `Bearer ${conn.key}` } });
      } catch (err) {
        throw new Error(`cannot reach Cairn at ${conn.url}: ${(err as Error).message}`);
      }
      if (!res.ok || !res.body) {
        const e = (((await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } }).error ?? {});
        throw new Error(`${res.status} ${e.code ?? ''} ${e.message ?? res.statusText}`.trim());
      }
      const { createWriteStream } = await import('fs');
      const { pipeline } = await import('stream/promises');
      const { Readable } = await import('stream');
      const target = flags.out ? createWriteStream(flags.out, { mode: 0o600 }) : io.out;
      // The document holds personal data: a file of it is readable by its owner only.
      await pipeline(Readable.fromWeb(res.body as never), target as NodeJS.WritableStream, { end: flags.out !== undefined });
      if (flags.out) write({ out: process.stderr }, `export of ${id} written to ${flags.out}`);
      else write(io, '');
    },
    async erase(id: string, flags: { anonymous?: boolean; reason: string; reference?: string; json?: boolean }, conn: Connection): Promise<void> {
      const body = { [flags.anonymous ? 'anonymousId' : 'customerId']: id, reason: flags.reason, ...(flags.reference ? { reference: flags.reference } : {}) };
      // An id erased before answers the record that erased it.
      show((await client(conn).post('/v1/privacy/erasures', body)) as unknown as ErasureView, flags.json);
    },
    async erasure(erasureId: string, flags: { json?: boolean }, conn: Connection): Promise<void> {
      show((await client(conn).get(`/v1/privacy/erasures/${encodeURIComponent(erasureId)}`)) as unknown as ErasureView, flags.json);
    },
  };
}
