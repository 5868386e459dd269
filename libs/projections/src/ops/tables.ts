/**
 * Generic read-model tables for rebuilds and replays (the tables a projection declares):
 * dialect-neutral row dumps, CSV, and a row diff keyed by primary key.
 */
import { sql, type Kysely } from 'kysely';
import type { ReadModelSchema } from '@cairn/read-models';
import { toCsv as writeCsv } from '@cairn/runtime';

/** Tables that belong to the machinery, never to a projection's read model. */
export const OPERATIONS_TABLES: ReadonlySet<string> = new Set([
  'schema_migrations',
  'checkpoints',
  'ingested_events',
  'parked_events',
  'rebuilds',
  'projection_versions',
  'projection_tables',
]);

export interface TableShape {
  readonly columns: readonly string[];
  /** Primary-key columns in key order; empty when the table has none (then all columns are the key). */
  readonly primaryKey: readonly string[];
}

export async function tableShape(db: Kysely<ReadModelSchema>, table: string, kind: 'sqlite' | 'postgres'): Promise<TableShape> {
  if (kind === 'sqlite') {
    const { rows } = await sql<{ name: string; pk: number }>`select name, pk from pragma_table_info(${table}) order by cid`.execute(db);
    return {
      columns: rows.map((r) => r.name),
      primaryKey: rows.filter((r) => r.pk > 0).sort((a, b) => a.pk - b.pk).map((r) => r.name),
    };
  }
  const { rows: cols } = await sql<{ column_name: string }>`
    select column_name from information_schema.columns
    where table_schema = current_schema() and table_name = ${table} order by ordinal_position`.execute(db);
  const { rows: pk } = await sql<{ column_name: string }>`
    select a.attname as column_name
    from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
    where i.indrelid = (quote_ident(current_schema()) || '.' || quote_ident(${table}))::regclass and i.indisprimary
    order by array_position(i.indkey, a.attnum)`.execute(db);
  return { columns: cols.map((r) => r.column_name), primaryKey: pk.map((r) => r.column_name) };
}

export type TableRow = Record<string, unknown>;

/** Every row, ordered by primary key (or by all columns): the same rows always dump the same. */
export async function dumpTable(db: Kysely<ReadModelSchema>, table: string, shape: TableShape): Promise<TableRow[]> {
  const order = shape.primaryKey.length > 0 ? shape.primaryKey : shape.columns;
  const { rows } = await sql<TableRow>`select ${sql.join(shape.columns.map((c) => sql.id(c)))} from ${sql.id(table)} order by ${sql.join(order.map((c) => sql.id(c)))}`.execute(db);
  return rows;
}

/** The table as CSV through the API's one CSV writer (formula-injection safe), `\n` line ends. */
export function toCsv(columns: readonly string[], rows: readonly TableRow[]): string {
  return writeCsv(columns, rows.map((r) => columns.map((c) => r[c])), { eol: '\n', quoteSpaces: true });
}

export function stableJson(value: unknown): string {
  return `${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`;
}

export interface TableDiff {
  readonly added: number;
  readonly removed: number;
  readonly changed: number;
  readonly unchanged: number;
  readonly addedKeys: unknown[];
  readonly removedKeys: unknown[];
  readonly changedRows: { key: unknown; columns: Record<string, { baseline: unknown; whatIf: unknown }> }[];
}

/** Row diff keyed by primary key: rows only in what-if are added, only in baseline removed. */
export function diffRows(shape: TableShape, baseline: readonly TableRow[], whatIf: readonly TableRow[]): TableDiff {
  const keyCols = shape.primaryKey.length > 0 ? shape.primaryKey : shape.columns;
  const keyOf = (r: TableRow) => (keyCols.length === 1 ? r[keyCols[0]] : keyCols.map((c) => r[c]));
  const id = (r: TableRow) => JSON.stringify(keyCols.map((c) => r[c]));
  const before = new Map(baseline.map((r) => [id(r), r]));
  const addedKeys: unknown[] = [];
  const changedRows: TableDiff['changedRows'] = [];
  let unchanged = 0;
  const seen = new Set<string>();
  for (const r of whatIf) {
    const k = id(r);
    seen.add(k);
    const b = before.get(k);
    if (b === undefined) {
      addedKeys.push(keyOf(r));
      continue;
    }
    const columns: Record<string, { baseline: unknown; whatIf: unknown }> = {};
    for (const c of shape.columns) if (!Object.is(b[c], r[c]) && JSON.stringify(b[c]) !== JSON.stringify(r[c])) columns[c] = { baseline: b[c], whatIf: r[c] };
    if (Object.keys(columns).length > 0) changedRows.push({ key: keyOf(r), columns });
    else unchanged += 1;
  }
  const removedKeys = baseline.filter((r) => !seen.has(id(r))).map(keyOf);
  return { added: addedKeys.length, removed: removedKeys.length, changed: changedRows.length, unchanged, addedKeys, removedKeys, changedRows };
}
