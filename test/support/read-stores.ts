/**
 * Read stores for integration specs that run the same cases on SQLite and PostgreSQL. PostgreSQL
 * cases get a schema of their own (dropped by `dropAndClose`); if PostgreSQL is unreachable they
 * fail, they are never skipped (CI starts it). CAIRN_TEST_PG_URL points elsewhere.
 */
import { randomUUID } from 'crypto';
import { Client } from 'pg';
import { sql } from 'kysely';
import { openReadStore, type ReadStore } from '@cairn/read-models';

export const PG_URL = process.env.CAIRN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** `describe.each` rows: [name, open]. `prefix` names the PostgreSQL schemas (e.g. `t_seg`). */
export function readStoreDialects(prefix: string): [string, () => Promise<ReadStore>][] {
  return [
    ['SQLite', () => openReadStore(':memory:')],
    ['PostgreSQL', () => openReadStore(PG_URL, { schema: `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 12)}` })],
  ];
}

/** Drops a PostgreSQL store's own schema, then closes the store. */
export async function dropAndClose(store: ReadStore): Promise<void> {
  if (store.kind === 'postgres') {
    const r = await sql<{ s: string }>`select current_schema() as s`.execute(store.db);
    await sql`drop schema if exists ${sql.id(r.rows[0]!.s)} cascade`.execute(store.db);
  }
  await store.close();
}

async function pg(query: string): Promise<void> {
  const c = new Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(query);
  } finally {
    await c.end();
  }
}

/**
 * `describe.each` rows for e2e specs that start Cairn: SQLite (the default read store), and
 * PostgreSQL in a schema of its own (`prefix_<random>`, dropped by `cleanup`), as `readModel`.
 */
export function e2eReadModels(prefix: string): [string, () => Promise<{ readModel?: string; cleanup: () => Promise<void> }>][] {
  return [
    ['SQLite', async () => ({ cleanup: async () => undefined })],
    [
      'PostgreSQL',
      async () => {
        const schema = `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
        await pg(`create schema ${schema}`);
        const sep = PG_URL.includes('?') ? '&' : '?';
        return { readModel: `${PG_URL}${sep}options=${encodeURIComponent(`-c search_path=${schema}`)}`, cleanup: () => pg(`drop schema if exists ${schema} cascade`) };
      },
    ],
  ];
}
