/**
 * The rows a flush writes, and the bulk statements that write them. Per table and key the last
 * put or delete wins, so a row touched by a thousand events is written once.
 *
 * SQLite: multi-row `INSERT … VALUES (…),(…) ON CONFLICT …` statements of a fixed size, so the
 * driver's statement cache prepares each shape once; PostgreSQL: one `INSERT … SELECT FROM
 * json_populate_recordset($1)` per chunk (one parameter, no per-row binding, no parameter ceiling).
 */
import { CompiledQuery, type Kysely } from 'kysely';
import type { ReadModelSchema, StoreKind } from '@cairn/read-models';
import type { FoldState, Row, RowSink, TableSpec } from '../projection';

const SQLITE_MAX_VARS = 30_000;
const SQLITE_MAX_ROWS = 500;
const PG_CHUNK_ROWS = 5_000;

function quote(id: string): string {
  return `"${id.replace(/"/g, '""')}"`;
}

interface TableChanges {
  readonly spec: TableSpec;
  /** key → the row put, or the key row of a delete. */
  readonly keyed: Map<string, { readonly row: Row; readonly deleted: boolean }>;
}

export class Changes implements RowSink {
  private readonly byTable = new Map<string, TableChanges>();
  private count = 0;

  constructor(private readonly specs: ReadonlyMap<string, TableSpec>) {}

  private table(name: string): TableChanges {
    let t = this.byTable.get(name);
    if (t === undefined) {
      const spec = this.specs.get(name);
      if (spec === undefined) throw new Error(`table ${name} is not declared by the projection`);
      t = { spec, keyed: new Map() };
      this.byTable.set(name, t);
    }
    return t;
  }

  private keyOf(spec: TableSpec, row: Row): string {
    if (spec.key.length === 1) {
      const v = row[spec.key[0]!];
      if (v === undefined || v === null) throw new Error(`${spec.table}: key column ${spec.key[0]} is missing`);
      return String(v);
    }
    let k = '';
    for (const c of spec.key) {
      const v = row[c];
      if (v === undefined || v === null) throw new Error(`${spec.table}: key column ${c} is missing`);
      k += `${String(v)}\u0000`;
    }
    return k;
  }

  put(table: string, row: Row): void {
    const t = this.table(table);
    const key = this.keyOf(t.spec, row);
    if (t.spec.mode === 'insert' && t.keyed.has(key)) return;
    if (!t.keyed.has(key)) this.count += 1;
    t.keyed.set(key, { row, deleted: false });
  }

  delete(table: string, key: Row): void {
    const t = this.table(table);
    const k = this.keyOf(t.spec, key);
    if (!t.keyed.has(k)) this.count += 1;
    t.keyed.set(k, { row: key, deleted: true });
  }

  /** Forgets the rows held (after they were written). */
  clear(): void {
    this.byTable.clear();
    this.count = 0;
  }

  /** Rows (and deletes) held. */
  get size(): number {
    return this.count;
  }

  /** Writes every table's rows in the caller's transaction. */
  async write(trx: Kysely<ReadModelSchema>, kind: StoreKind): Promise<void> {
    for (const t of this.byTable.values()) {
      const deletes: unknown[][] = [];
      const rows: Row[] = [];
      for (const { row, deleted } of t.keyed.values()) {
        if (deleted) deletes.push(t.spec.key.map((c) => row[c]));
        else rows.push(row);
      }
      if (deletes.length > 0) await deleteKeys(trx, kind, t.spec, deletes);
      if (rows.length === 0) continue;
      // In key order: each B-tree page the rows land on is visited once per write, in sequence,
      // instead of at random (on a million-row table, random order costs a cache miss a row).
      if (rows.length > 1) sortByKey(t.spec, rows);
      await (kind === 'postgres' ? writePg(trx, t.spec, rows) : writeSqlite(trx, t.spec, rows));
    }
  }

}

/**
 * Runs a fold state's flush into `changes` and writes everything in the caller's transaction; a
 * flush that yields has what it put so far written (and forgotten) at each yield.
 */
export async function writeFlush(state: FoldState, changes: Changes, trx: Kysely<ReadModelSchema>, kind: StoreKind): Promise<void> {
  const portions = state.flush?.(changes);
  if (portions) {
    for (const _ of portions) {
      await changes.write(trx, kind);
      changes.clear();
      // A big flush is one long chain of microtasks: timers and I/O get a turn between portions.
      await new Promise((r) => setImmediate(r));
    }
  }
  await changes.write(trx, kind);
}

function sortByKey(spec: TableSpec, rows: Row[]): void {
  const key = spec.key;
  rows.sort((a, b) => {
    for (const c of key) {
      const x = a[c] as string | number;
      const y = b[c] as string | number;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  });
}

function conflictClause(spec: TableSpec, placeholderExcluded: (c: string) => string): string {
  const keys = spec.key.map(quote).join(', ');
  const rest = spec.columns.filter((c) => !spec.key.includes(c));
  if (spec.mode === 'insert' || rest.length === 0) return ` on conflict (${keys}) do nothing`;
  return ` on conflict (${keys}) do update set ${rest.map((c) => `${quote(c)} = ${placeholderExcluded(c)}`).join(', ')}`;
}

async function writeSqlite(trx: Kysely<ReadModelSchema>, spec: TableSpec, rows: readonly Row[]): Promise<void> {
  const cols = spec.columns;
  const perChunk = Math.max(1, Math.min(SQLITE_MAX_ROWS, Math.floor(SQLITE_MAX_VARS / cols.length)));
  const rowMarks = `(${cols.map(() => '?').join(', ')})`;
  const head = `insert into ${quote(spec.table)} (${cols.map(quote).join(', ')}) values `;
  const tail = conflictClause(spec, (c) => `excluded.${quote(c)}`);
  let fullText: string | null = null;
  for (let i = 0; i < rows.length; i += perChunk) {
    const n = Math.min(perChunk, rows.length - i);
    const text = n === perChunk ? (fullText ??= head + new Array(n).fill(rowMarks).join(', ') + tail) : head + new Array(n).fill(rowMarks).join(', ') + tail;
    const params = new Array<unknown>(n * cols.length);
    let p = 0;
    for (let r = i; r < i + n; r++) {
      const row = rows[r]!;
      for (const c of cols) params[p++] = sqliteValue(row[c]);
    }
    await trx.executeQuery(CompiledQuery.raw(text, params));
  }
}

function sqliteValue(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v;
}

async function writePg(trx: Kysely<ReadModelSchema>, spec: TableSpec, rows: readonly Row[]): Promise<void> {
  const cols = spec.columns.map(quote).join(', ');
  const text = `insert into ${quote(spec.table)} (${cols}) select ${cols} from json_populate_recordset(null::${quote(spec.table)}, $1::json)${conflictClause(spec, (c) => `excluded.${quote(c)}`)}`;
  for (let i = 0; i < rows.length; i += PG_CHUNK_ROWS) {
    const part = rows.slice(i, i + PG_CHUNK_ROWS);
    await trx.executeQuery(CompiledQuery.raw(text, [JSON.stringify(part, pgJsonValue)]));
  }
}

function pgJsonValue(_key: string, v: unknown): unknown {
  return v === undefined ? null : v;
}

async function deleteKeys(trx: Kysely<ReadModelSchema>, kind: StoreKind, spec: TableSpec, keys: readonly unknown[][]): Promise<void> {
  const chunk = kind === 'postgres' ? PG_CHUNK_ROWS : Math.floor(SQLITE_MAX_ROWS / spec.key.length) || 1;
  for (let i = 0; i < keys.length; i += chunk) {
    const part = keys.slice(i, i + chunk);
    if (kind === 'postgres') {
      const cols = spec.key.map(quote).join(', ');
      const rows = part.map((k) => Object.fromEntries(spec.key.map((c, j) => [c, k[j]])));
      await trx.executeQuery(
        CompiledQuery.raw(`delete from ${quote(spec.table)} where (${cols}) in (select ${cols} from json_populate_recordset(null::${quote(spec.table)}, $1::json))`, [JSON.stringify(rows)]),
      );
    } else if (spec.key.length === 1) {
      await trx.executeQuery(CompiledQuery.raw(`delete from ${quote(spec.table)} where ${quote(spec.key[0]!)} in (${part.map(() => '?').join(', ')})`, part.map((k) => k[0])));
    } else {
      const tuple = `(${spec.key.map(() => '?').join(', ')})`;
      await trx.executeQuery(
        CompiledQuery.raw(`delete from ${quote(spec.table)} where (${spec.key.map(quote).join(', ')}) in (values ${part.map(() => tuple).join(', ')})`, part.flat()),
      );
    }
  }
}
