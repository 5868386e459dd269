/**
 * Ordered schema migrations, written once with kysely's schema builder for both dialects.
 *
 * A migration returns the statements to run (not executed yet), so the runner can apply them
 * synchronously on SQLite (one BEGIN IMMEDIATE, no await in between: two stores opening the same
 * file in one process cannot interleave) and inside an advisory-locked transaction on PostgreSQL
 * (two processes opening concurrently serialise; the loser sees the versions already applied).
 * Append only: never edit or reorder a published migration.
 */
import type Database from 'better-sqlite3';
import { sql, type Compilable, type Kysely } from 'kysely';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import type { ReadModelSchema, StoreKind } from './schema';

export interface Migration {
  readonly version: number;
  readonly name: string;
  up(db: Kysely<ReadModelSchema>, kind: StoreKind): readonly Compilable[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'checkpoints',
    up: (db, kind) => [
      db.schema
        .createTable('checkpoints')
        .ifNotExists()
        .addColumn('projection', 'text', (c) => c.primaryKey())
        // Unsigned 64-bit: PostgreSQL's bigint and SQLite's integer are signed, so neither fits.
        // SQLite must not get a NUMERIC affinity (it would turn > 2^63 into a lossy REAL).
        .addColumn('position', kind === 'postgres' ? sql`numeric(20, 0)` : 'text', (c) => c.notNull())
        .addColumn('events_processed', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('updated_at', 'text', (c) => c.notNull()),
    ],
  },
  {
    version: 2,
    name: 'profiles',
    up: (db, kind) => [
      db.schema
        .createTable('profiles')
        .ifNotExists()
        // Byte-order collation on PostgreSQL so keyset pagination orders ids like SQLite's BINARY.
        .addColumn('customer_id', 'text', (c) => (kind === 'postgres' ? c.modifyFront(sql`collate "C"`) : c).primaryKey())
        .addColumn('first_seen_at', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'text', (c) => c.notNull())
        .addColumn('views', 'integer', (c) => c.notNull())
        .addColumn('orders', 'integer', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('gross_minor', 'bigint', (c) => c.notNull())
        .addColumn('refunded_minor', 'bigint', (c) => c.notNull())
        .addColumn('net_minor', 'bigint', (c) => c.notNull())
        .addColumn('aov_minor', 'bigint')
        .addColumn('last_order_at', 'text')
        .addColumn('reviews', 'integer', (c) => c.notNull())
        .addColumn('average_rating', 'double precision')
        .addColumn('referrals_made', 'integer', (c) => c.notNull())
        .addColumn('channels', 'text', (c) => c.notNull())
        .addColumn('doc', 'text', (c) => c.notNull())
        // Profiles are rewritten on every batch; free space per page lets PostgreSQL update them in
        // place (HOT: only the primary key is indexed), about 20% faster upserts.
        .$call((t) => (kind === 'postgres' ? t.modifyEnd(sql`with (fillfactor = 70)`) : t)),
    ],
  },
  {
    version: 3,
    name: 'ingested_events',
    up: (db) => [
      db.schema
        .createTable('ingested_events')
        .ifNotExists()
        .addColumn('event_id', 'text', (c) => c.primaryKey())
        .addColumn('stream_id', 'text', (c) => c.notNull())
        .addColumn('recorded_at', 'text', (c) => c.notNull()),
    ],
  },
  {
    version: 100,
    name: 'identity',
    up: (db, kind) => {
      const key = (c: import('kysely').ColumnDefinitionBuilder) => (kind === 'postgres' ? c.modifyFront(sql`collate "C"`) : c);
      return [
        db.schema
          .createTable('identity_sources')
          .ifNotExists()
          .addColumn('source_id', 'text', (c) => key(c).primaryKey())
          .addColumn('person_id', 'text', (c) => key(c).notNull())
          .addColumn('doc', 'text', (c) => c.notNull()),
        db.schema.createIndex('identity_sources_person').ifNotExists().on('identity_sources').column('person_id'),
        db.schema
          .createTable('identity_links')
          .ifNotExists()
          .addColumn('anonymous_id', 'text', (c) => key(c).notNull())
          .addColumn('customer_id', 'text', (c) => key(c).notNull())
          .addPrimaryKeyConstraint('identity_links_pk', ['anonymous_id', 'customer_id']),
        db.schema.createIndex('identity_links_customer').ifNotExists().on('identity_links').column('customer_id'),
        db.schema
          .createTable('identity_merges')
          .ifNotExists()
          .addColumn('merge_id', 'text', (c) => c.primaryKey())
          .addColumn('survivor_id', 'text', (c) => key(c).notNull())
          .addColumn('merged_id', 'text', (c) => key(c).notNull())
          .addColumn('requested_at', 'text', (c) => c.notNull()),
        db.schema.createIndex('identity_merges_survivor').ifNotExists().on('identity_merges').column('survivor_id'),
        db.schema.createIndex('identity_merges_merged').ifNotExists().on('identity_merges').column('merged_id'),
        db.schema
          .createTable('identity_state')
          .ifNotExists()
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull()),
      ];
    },
  },
  {
    version: 101,
    name: 'rfm',
    up: (db, kind) => {
      const key = (c: import('kysely').ColumnDefinitionBuilder) => (kind === 'postgres' ? c.modifyFront(sql`collate "C"`) : c);
      return [
        db.schema
          .createTable('rfm_runs')
          .ifNotExists()
          .addColumn('run_id', 'text', (c) => c.primaryKey())
          .addColumn('as_of', 'text', (c) => c.notNull())
          .addColumn('window_days', 'integer', (c) => c.notNull())
          .addColumn('trigger', 'text', (c) => c.notNull())
          .addColumn('local_date', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('started_at', 'text', (c) => c.notNull())
          .addColumn('finished_at', 'text')
          .addColumn('customers', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('duration_ms', 'integer'),
        db.schema
          .createTable('rfm_scores')
          .ifNotExists()
          .addColumn('run_id', 'text', (c) => c.notNull())
          .addColumn('customer_id', 'text', (c) => key(c).notNull())
          .addColumn('r', 'integer', (c) => c.notNull())
          .addColumn('f', 'integer', (c) => c.notNull())
          .addColumn('m', 'integer', (c) => c.notNull())
          .addColumn('segment', 'text', (c) => c.notNull())
          .addColumn('recency_days', 'integer', (c) => c.notNull())
          .addColumn('orders', 'integer', (c) => c.notNull())
          .addColumn('net_minor', 'bigint', (c) => c.notNull())
          .addColumn('last_order_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('rfm_scores_pk', ['run_id', 'customer_id']),
        db.schema.createIndex('rfm_scores_segment').ifNotExists().on('rfm_scores').columns(['run_id', 'segment', 'customer_id']),
        db.schema.createIndex('rfm_scores_customer').ifNotExists().on('rfm_scores').columns(['customer_id', 'run_id']),
      ];
    },
  },
  {
    version: 102,
    name: 'segments',
    up: (db, kind) => {
      const key = (c: import('kysely').ColumnDefinitionBuilder) => (kind === 'postgres' ? c.modifyFront(sql`collate "C"`) : c);
      return [
        db.schema
          .createTable('segments')
          .ifNotExists()
          .addColumn('segment_id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('condition', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('needs_sweep', 'integer', (c) => c.notNull().defaultTo(1)),
        db.schema
          .createTable('segment_members')
          .ifNotExists()
          .addColumn('segment_id', 'text', (c) => c.notNull())
          .addColumn('customer_id', 'text', (c) => key(c).notNull())
          .addColumn('since', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('segment_members_pk', ['segment_id', 'customer_id']),
        db.schema.createIndex('segment_members_customer').ifNotExists().on('segment_members').column('customer_id'),
        db.schema
          .createTable('segment_dirty')
          .ifNotExists()
          .addColumn('customer_id', 'text', (c) => c.primaryKey())
          .addColumn('token', 'text', (c) => c.notNull()),
        db.schema
          .createTable('segment_outbox')
          .ifNotExists()
          .addColumn('seq', 'text', (c) => key(c).primaryKey())
          .addColumn('event_id', 'text', (c) => c.notNull())
          .addColumn('segment_id', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull()),
      ];
    },
  },
  {
    version: 200,
    name: 'loyalty',
    up: (db, kind) => [
      db.schema
        .createTable('loyalty_facts')
        .ifNotExists()
        .addColumn('customer_id', 'text', (c) => (kind === 'postgres' ? c.modifyFront(sql`collate "C"`) : c).notNull())
        .addColumn('fact_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('occurred_at', 'text', (c) => c.notNull())
        .addColumn('doc', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('loyalty_facts_pk', ['customer_id', 'fact_id']),
      db.schema
        .createTable('loyalty_links')
        .ifNotExists()
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('customer_id', 'text', (c) => c.notNull())
        .addColumn('fact_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('loyalty_links_pk', ['kind', 'key', 'customer_id', 'fact_id']),
    ],
  },
  {
    version: 300,
    name: 'analytics_facts',
    up: (db) => [
      db.schema
        .createTable('analytics_facts')
        .ifNotExists()
        .addColumn('event_id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('customer_id', 'text')
        .addColumn('anonymous_id', 'text')
        .addColumn('occurred_at', 'text', (c) => c.notNull())
        .addColumn('occurred_ms', 'bigint', (c) => c.notNull())
        .addColumn('order_id', 'text')
        .addColumn('amount_minor', 'bigint')
        .addColumn('currency', 'text')
        .addColumn('rating', 'integer')
        .addColumn('code', 'text')
        .addColumn('referee_id', 'text'),
      db.schema.createIndex('analytics_facts_kind_time').ifNotExists().on('analytics_facts').columns(['kind', 'occurred_ms']),
      db.schema.createIndex('analytics_facts_customer').ifNotExists().on('analytics_facts').columns(['customer_id', 'occurred_ms']),
    ],
  },
  {
    version: 301,
    name: 'analytics_facts_seq',
    // The fact's log position: readers keep the facts in memory and top up with `seq > last seen`.
    up: (db) => [
      db.schema.alterTable('analytics_facts').addColumn('seq', 'bigint'),
      db.schema.createIndex('analytics_facts_seq').ifNotExists().on('analytics_facts').column('seq'),
    ],
  },
  {
    version: 400,
    name: 'operations',
    up: (db, kind) => [
      db.schema
        .createTable('parked_events')
        .ifNotExists()
        .addColumn('projection', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('position', kind === 'postgres' ? sql`numeric(20, 0)` : 'text', (c) => c.notNull())
        .addColumn('stream_id', 'text', (c) => c.notNull())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('error', 'text', (c) => c.notNull())
        .addColumn('projection_version', 'integer', (c) => c.notNull())
        .addColumn('parked_at', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(1))
        .addPrimaryKeyConstraint('parked_events_pk', ['projection', 'event_id']),
      db.schema
        .createTable('rebuilds')
        .ifNotExists()
        .addColumn('job_id', 'text', (c) => c.primaryKey())
        .addColumn('projections', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('shadow', 'text', (c) => c.notNull())
        .addColumn('keep_old', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text')
        .addColumn('error', 'text')
        .addColumn('events_done', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('position', 'text')
        .addColumn('head', 'text'),
      db.schema
        .createTable('projection_versions')
        .ifNotExists()
        .addColumn('projection', 'text', (c) => c.primaryKey())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('built_at', 'text', (c) => c.notNull())
        .addColumn('job_id', 'text'),
      db.schema
        .createTable('projection_tables')
        .ifNotExists()
        .addColumn('projection', 'text', (c) => c.notNull())
        .addColumn('table_name', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('projection_tables_pk', ['projection', 'table_name']),
    ],
  },
  {
    version: 401,
    name: 'rebuild_owner',
    // host:pid of the process running a rebuild: a dead owner on this host means resumable at once.
    up: (db) => [db.schema.alterTable('rebuilds').addColumn('owner', 'text')],
  },
  {
    version: 500,
    name: 'engine_documents',
    // The projection engine writes a single-source person's document once, in its profiles row:
    // identity_sources.doc is then null. A parked event can be marked for retry by any process; the
    // one running the projection engine picks it up.
    up: (db, kind) =>
      kind === 'postgres'
        ? [raw(db, `alter table identity_sources alter column doc drop not null`), db.schema.alterTable('parked_events').addColumn('retry_requested_at', 'text')]
        : [
            raw(db, `create table identity_sources_v500 (source_id text primary key, person_id text not null, doc text)`),
            raw(db, `insert into identity_sources_v500 (source_id, person_id, doc) select source_id, person_id, doc from identity_sources`),
            raw(db, `drop table identity_sources`),
            raw(db, `alter table identity_sources_v500 rename to identity_sources`),
            db.schema.createIndex('identity_sources_person').ifNotExists().on('identity_sources').column('person_id'),
            db.schema.alterTable('parked_events').addColumn('retry_requested_at', 'text'),
          ],
  },
  {
    version: 510,
    name: 'api_keys',
    // API keys live in the read store so every API process on it sees the same keys at once.
    // Only the SHA-256 of the (192-bit random) secret is stored; revoked keys keep their row.
    up: (db) => [
      db.schema
        .createTable('api_keys')
        .ifNotExists()
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('revoked_at', 'text')
        .addColumn('last_used_at', 'text')
        .addColumn('rotated_from', 'text'),
    ],
  },
  {
    version: 520,
    name: 'customer_lookup',
    // GET /v1/customers/:id as one indexed lookup: identity is resolved when the profiles projection
    // writes, not per request. `customer_lookup` maps every customer id to its person's profiles row
    // (its own, a merge survivor's, the customer its anonymous ids are linked to); the profiles row
    // holds the served view and the person's identity as JSON. Backfilled from identity_sources; the
    // view columns are filled as profiles are next written (or by `cairn rebuild profiles`), and
    // until then a read falls back to resolving identity per request.
    up: (db, kind) => {
      const key = (c: import('kysely').ColumnDefinitionBuilder) => (kind === 'postgres' ? c.modifyFront(sql`collate "C"`) : c);
      return [
        db.schema.alterTable('profiles').addColumn('view', 'text'),
        db.schema.alterTable('profiles').addColumn('identity', 'text'),
        db.schema.alterTable('profiles').addColumn('first_order_at', 'text'),
        db.schema
          .createTable('customer_lookup')
          .ifNotExists()
          .addColumn('customer_id', 'text', (c) => key(c).primaryKey())
          .addColumn('person_id', 'text', (c) => key(c).notNull()),
        raw(
          db,
          `insert into customer_lookup (customer_id, person_id) select substr(source_id, 10), substr(person_id, 10) from identity_sources where source_id like 'customer-%' and person_id like 'customer-%'`,
        ),
      ];
    },
  },
  {
    version: 600,
    name: 'webhooks',
    // Webhook endpoints (the signing secret is kept: it signs every delivery; shown once at creation),
    // the outbox of deliveries (one row per source event and endpoint, written in the same
    // transaction as the enqueuing subscription's cursor), each attempt, and that cursor.
    // Log positions are kept as 20-digit zero-padded text: the same order on both dialects.
    up: (db) => {
      const position = 'text';
      return [
        db.schema
          .createTable('webhooks')
          .ifNotExists()
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('kinds', 'text', (c) => c.notNull())
          .addColumn('segment_id', 'text')
          .addColumn('secret', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('disabled_reason', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('lease_owner', 'text')
          .addColumn('lease_until', 'text'),
        db.schema
          .createTable('webhook_deliveries')
          .ifNotExists()
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('webhook_id', 'text', (c) => c.notNull())
          .addColumn('source_event_id', 'text', (c) => c.notNull())
          .addColumn('position', position, (c) => c.notNull())
          .addColumn('customer_id', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('next_attempt_at', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          // Where the retry window (CAIRN_WEBHOOK_RETRY_FOR_MS) starts: creation, or the last re-send.
          .addColumn('retry_from', 'text', (c) => c.notNull())
          .addColumn('delivered_at', 'text')
          .addUniqueConstraint('webhook_deliveries_source', ['webhook_id', 'source_event_id']),
        db.schema.createIndex('webhook_deliveries_queue').ifNotExists().on('webhook_deliveries').columns(['webhook_id', 'status', 'customer_id', 'position']),
        db.schema.createIndex('webhook_deliveries_created').ifNotExists().on('webhook_deliveries').columns(['webhook_id', 'created_at']),
        db.schema
          .createTable('webhook_attempts')
          .ifNotExists()
          .addColumn('delivery_id', 'text', (c) => c.notNull())
          .addColumn('attempt', 'integer', (c) => c.notNull())
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('status_code', 'integer')
          .addColumn('latency_ms', 'integer', (c) => c.notNull())
          .addColumn('error', 'text')
          .addPrimaryKeyConstraint('webhook_attempts_pk', ['delivery_id', 'attempt']),
        db.schema
          .createTable('webhook_cursor')
          .ifNotExists()
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('position', position)
          .addColumn('updated_at', 'text', (c) => c.notNull()),
      ];
    },
  },
  {
    version: 601,
    name: 'automations',
    // Automation rules (the read model of cairn.automation.defined.v1), what each trigger granted
    // (a voucher with its code, or a hold-out), and the purchases that used a coupon code (the
    // voucher-uses projection). Redemption is decided on read, from the uses in business-time order.
    up: (db) => [
      db.schema
        .createTable('automations')
        .ifNotExists()
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('segment_id', 'text', (c) => c.notNull())
        .addColumn('rule', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('deleted', 'integer', (c) => c.notNull()),
      db.schema
        .createTable('automation_grants')
        .ifNotExists()
        .addColumn('automation_id', 'text', (c) => c.notNull())
        .addColumn('source_event_id', 'text', (c) => c.notNull())
        .addColumn('customer_id', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('triggered_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('code', 'text', (c) => c.unique())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('published', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('automation_grants_pk', ['automation_id', 'source_event_id']),
      db.schema.createIndex('automation_grants_customer').ifNotExists().on('automation_grants').columns(['automation_id', 'customer_id', 'triggered_at']),
      db.schema.createIndex('automation_grants_unpublished').ifNotExists().on('automation_grants').columns(['published']),
      db.schema
        .createTable('voucher_uses')
        .ifNotExists()
        .addColumn('event_id', 'text', (c) => c.primaryKey())
        .addColumn('code', 'text', (c) => c.notNull())
        .addColumn('customer_id', 'text')
        .addColumn('order_id', 'text', (c) => c.notNull())
        .addColumn('occurred_at', 'text', (c) => c.notNull())
        .addColumn('total_minor', 'bigint', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull()),
      db.schema.createIndex('voucher_uses_code').ifNotExists().on('voucher_uses').column('code'),
    ],
  },
  {
    version: 720,
    name: 'rfm_run_position',
    // The log position an RFM run reflects (the lower of the profiles' and the analytics facts'
    // checkpoints when it started), so its answers say how fresh they are; null for older runs.
    up: (db) => [db.schema.alterTable('rfm_runs').addColumn('position', 'text')],
  },
  {
    version: 721,
    name: 'imports',
    // The position each bulk import reached, so `cairn clv fit` and the analytics reads after an
    // import can wait for every imported row (?minPosition=lastImport).
    up: (db) => [
      db.schema
        .createTable('imports')
        .ifNotExists()
        .addColumn('import_id', 'text', (c) => c.primaryKey())
        .addColumn('finished_at', 'text', (c) => c.notNull())
        .addColumn('lines', 'integer', (c) => c.notNull())
        .addColumn('accepted', 'integer', (c) => c.notNull())
        .addColumn('position', 'text', (c) => c.notNull()),
    ],
  },
  {
    version: 800,
    name: 'privacy_keys',
    // Crypto-shredding (docs/privacy.md): one data key per person's stream, wrapped by the
    // key-encryption key; an erasure clears `wrapped` for good. Never in the append-only log.
    up: (db, kind) => {
      const key = (c: import('kysely').ColumnDefinitionBuilder) => (kind === 'postgres' ? c.modifyFront(sql`collate "C"`) : c);
      return [
        db.schema
          .createTable('privacy_keys')
          .ifNotExists()
          .addColumn('subject', 'text', (c) => key(c).primaryKey())
          .addColumn('key_id', 'text', (c) => key(c).notNull().unique())
          .addColumn('wrapped', 'text')
          .addColumn('kek_id', 'text', (c) => c.notNull())
          .addColumn('fingerprint', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('erased_at', 'text')
          .addColumn('erasure_id', 'text'),
        db.schema
          .createTable('privacy_erasures')
          .ifNotExists()
          .addColumn('erasure_id', 'text', (c) => c.primaryKey())
          .addColumn('requested_id', 'text', (c) => c.notNull())
          .addColumn('requested_kind', 'text', (c) => c.notNull())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('reference', 'text')
          .addColumn('actor', 'text', (c) => c.notNull())
          .addColumn('erased_at', 'text', (c) => c.notNull())
          .addColumn('subjects', 'text', (c) => c.notNull())
          .addColumn('fingerprints', 'text', (c) => c.notNull())
          .addColumn('position', 'text'),
        db.schema.createIndex('privacy_erasures_requested').ifNotExists().on('privacy_erasures').column('requested_id'),
      ];
    },
  },
  {
    version: 810,
    name: 'consent_gates',
    // Outgoing reactions that honour consent: the purpose a webhook endpoint needs granted (null:
    // none), and why a delivery was withheld (status 'withheld': recorded, counted, never sent).
    // Automations keep theirs in the rule's JSON; a withheld grant is an outcome of its own.
    up: (db) => [
      db.schema.alterTable('webhooks').addColumn('requires_consent', 'text'),
      db.schema.alterTable('webhook_deliveries').addColumn('withheld_reason', 'text'),
    ],
  },
  {
    version: 820,
    name: 'audit_log',
    // The audit log's read model: the `cairn-audit` stream is the record, copied here (on each
    // read of GET /v1/admin/audit, from the checkpoint on) so that pages and filters are indexed.
    up: (db) => [
      db.schema
        .createTable('audit_log')
        .ifNotExists()
        .addColumn('audit_id', 'text', (c) => c.primaryKey())
        .addColumn('seq', 'bigint', (c) => c.notNull().unique())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('actor_key_id', 'text', (c) => c.notNull())
        .addColumn('actor_key_name', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('route', 'text', (c) => c.notNull())
        .addColumn('targets', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text')
        .addColumn('status_code', 'integer')
        .addColumn('error_code', 'text')
        .addColumn('completed_at', 'text'),
      db.schema.createIndex('audit_log_action').ifNotExists().on('audit_log').columns(['action', 'seq']),
      db.schema.createIndex('audit_log_actor').ifNotExists().on('audit_log').columns(['actor_key_name', 'seq']),
      db.schema.createIndex('audit_log_at').ifNotExists().on('audit_log').columns(['at']),
      db.schema.createTable('audit_checkpoint').ifNotExists().addColumn('name', 'text', (c) => c.primaryKey()).addColumn('revision', 'bigint', (c) => c.notNull()),
    ],
  },
  {
    version: 840,
    name: 'webhook_signals',
    // Webhook kinds with no event of their own (tier.changed, points.earned, points.expiring,
    // customer.lapsed): what was last notified per person, so a change is enqueued once; an
    // endpoint's tier filter and its points.expiring horizon in days.
    up: (db) => [
      db.schema.alterTable('webhooks').addColumn('tier_filter', 'text'),
      db.schema.alterTable('webhooks').addColumn('expiring_days', 'integer'),
      db.schema
        .createTable('webhook_signal_state')
        .ifNotExists()
        .addColumn('customer_id', 'text', (c) => c.primaryKey())
        .addColumn('tier', 'text')
        .addColumn('stage', 'text')
        .addColumn('earned_through', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull()),
    ],
  },
  // Version ranges per area, so parallel work never collides: 100–199 identity, segments and RFM;
  // 200–299 loyalty; 300–399 analytics; 400–499 operations; 500–509 the projection engine;
  // 510–519 API keys; 520–529 read paths (customer lookup); 600–649 webhooks and automations;
  // 700–719 the CLI; 720–739 answer freshness; 800–809 privacy keys and erasures; 810–819
  // consent; 820–829 the audit log; 830–839 the console; 840–849 webhook signals.
];

/** A raw statement as a migration step. */
function raw(db: Kysely<ReadModelSchema>, text: string): Compilable {
  return { compile: () => sql.raw(text).compile(db) } as Compilable;
}

function bootstrap(db: Kysely<ReadModelSchema>): Compilable {
  return db.schema
    .createTable('schema_migrations')
    .ifNotExists()
    .addColumn('version', 'integer', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('applied_at', 'text', (c) => c.notNull());
}

function pending(applied: readonly { version: number; name: string }[], migrations: readonly Migration[]): Migration[] {
  const byVersion = new Map(applied.map((r) => [Number(r.version), r.name]));
  for (const m of migrations) {
    const name = byVersion.get(m.version);
    if (name !== undefined && name !== m.name) {
      throw new CairnError(ERROR_CODES.CONFIG, `read-model migration ${m.version} is recorded as "${name}", expected "${m.name}"`);
    }
  }
  return migrations.filter((m) => !byVersion.has(m.version));
}

function record(db: Kysely<ReadModelSchema>, m: Migration): Compilable {
  return db.insertInto('schema_migrations').values({ version: m.version, name: m.name, applied_at: new Date().toISOString() });
}

/** SQLite: all in one synchronous BEGIN IMMEDIATE transaction on the raw connection. Returns versions applied. */
export function migrateSqlite(raw: Database.Database, db: Kysely<ReadModelSchema>, migrations: readonly Migration[] = MIGRATIONS): number[] {
  const run = (q: Compilable): void => {
    const c = q.compile();
    raw.prepare(c.sql).run(...(c.parameters as unknown[]));
  };
  return raw
    .transaction(() => {
      run(bootstrap(db));
      const applied = raw.prepare('select version, name from schema_migrations').all() as { version: number; name: string }[];
      const todo = pending(applied, migrations);
      for (const m of todo) {
        for (const q of m.up(db, 'sqlite')) run(q);
        run(record(db, m));
      }
      return todo.map((m) => m.version);
    })
    .immediate();
}

/** PostgreSQL: one transaction holding an advisory lock keyed by the schema; creates the schema if asked. */
export async function migratePostgres(db: Kysely<ReadModelSchema>, schema: string | undefined, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext(${`cairn.read-models:${schema ?? ''}`}))`.execute(trx);
    if (schema !== undefined) await sql`create schema if not exists ${sql.id(schema)}`.execute(trx);
    await trx.executeQuery(bootstrap(db).compile());
    const applied = await trx.selectFrom('schema_migrations').select(['version', 'name']).execute();
    const todo = pending(applied, migrations);
    for (const m of todo) {
      for (const q of m.up(db, 'postgres')) await trx.executeQuery(q.compile());
      await trx.executeQuery(record(db, m).compile());
    }
    return todo.map((m) => m.version);
  });
}
