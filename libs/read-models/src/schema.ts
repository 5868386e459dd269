/**
 * Table types of the read-model database, shared by both dialects.
 *
 * Column types are chosen so a row reads back the same on SQLite and PostgreSQL:
 * - instants are ISO-8601 UTC strings (`toUtcIso` format), which sort and compare as strings;
 * - money and counts are JS numbers (safe integers; the PostgreSQL pool parses int8 to number);
 * - checkpoint positions are unsigned 64-bit, so they travel as decimal strings
 *   (`numeric(20,0)` on PostgreSQL, `text` on SQLite) and are exposed as bigint by checkpoints.ts.
 */

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  applied_at: string;
}

export interface CheckpointsTable {
  projection: string;
  /** Decimal string of an unsigned 64-bit position. */
  position: string;
  /** Running total of events folded into this projection. */
  events_processed: number;
  updated_at: string;
}

export interface ProfilesTable {
  customer_id: string;
  first_seen_at: string;
  last_seen_at: string;
  views: number;
  orders: number;
  currency: string;
  gross_minor: number;
  refunded_minor: number;
  net_minor: number;
  aov_minor: number | null;
  last_order_at: string | null;
  reviews: number;
  average_rating: number | null;
  referrals_made: number;
  /** Sorted channel names joined with ','. */
  channels: string;
  /** The full Profile as JSON (including fold state): the source of truth when reloading. */
  doc: string;
  /** The profile as served (`publicProfile`), JSON; null in rows written before migration 520. */
  view?: string | null;
  /** The person's identity as served, without `requestedId` (`PersonIdentity`), JSON; null before migration 520. */
  identity?: string | null;
  /** When the first order happened (for the lifecycle stage without parsing a document). */
  first_order_at?: string | null;
}

/** Every customer id that belongs to a person, and the customer id of that person's profiles row. */
export interface CustomerLookupTable {
  customer_id: string;
  person_id: string;
}

/** Which event ids the event store holds: lets ingest answer `duplicate` (written by the API, not a projection). */
export interface IngestedEventsTable {
  event_id: string;
  stream_id: string;
  recorded_at: string;
}

/** Operations (400–499): a projection's poison event, parked while the projection carries on. */
export interface ParkedEventsTable {
  projection: string;
  event_id: string;
  /** Decimal string of the event's commit position. */
  position: string;
  stream_id: string;
  event_type: string;
  /** The recorded event as JSON (revision and position as decimal strings). */
  event: string;
  error: string;
  projection_version: number;
  parked_at: string;
  attempts: number;
  /** Set by a retry request from a process that does not run the projection; the engine retries and clears it. */
  retry_requested_at?: string | null;
}

/** Operations: one row per rebuild job (a set of projections rebuilt together into one shadow). */
export interface RebuildsTable {
  job_id: string;
  /** Projection names, comma-separated, in registry order. */
  projections: string;
  /** running | switched | failed | interrupted */
  status: string;
  /** The shadow store: a SQLite file path or a PostgreSQL schema. */
  shadow: string;
  keep_old: number;
  started_at: string;
  /** Heartbeat of the process running it: a stale heartbeat means it crashed and may be resumed. */
  updated_at: string;
  finished_at: string | null;
  error: string | null;
  events_done: number;
  /** Decimal string: the shadow's lowest checkpoint. */
  position: string | null;
  /** Decimal string: the log head when last measured. */
  head: string | null;
  /** `host:pid` of the process running it (migration 401). */
  owner: string | null;
}

/** Operations: which version built the rows a projection serves now (set by a rebuild's switch). */
export interface ProjectionVersionsTable {
  projection: string;
  version: number;
  built_at: string;
  /** The rebuild job that built it, or null when built live from the start. */
  job_id: string | null;
}

/** Operations: tables a projection has written (tracked by the rebuild in its shadow store). */
export interface ProjectionTablesTable {
  projection: string;
  table_name: string;
}

/** Identity: one folded profile per source (a customer's or a visitor's stream) and the person it belongs to. */
export interface IdentitySourcesTable {
  /** `customer-<id>` or `visitor-<anonymousId>`. */
  source_id: string;
  /** Source key of the person's representative. */
  person_id: string;
  /** The source's own Profile JSON (fold state included); null when it is its person's only source (the profiles row holds it). */
  doc: string | null;
}

/** Identity: an anonymous id seen together with a customer id. */
export interface IdentityLinksTable {
  anonymous_id: string;
  customer_id: string;
}

/** Identity: admin merges in force (an unmerge deletes the row). */
export interface IdentityMergesTable {
  merge_id: string;
  survivor_id: string;
  merged_id: string;
  requested_at: string;
}

/** Identity: small named values (the admin stream's applied revision). */
export interface IdentityStateTable {
  name: string;
  value: string;
}

/** Loyalty (200–299): each customer's loyalty facts (compact purchase/return/review/referral) as JSON. */
export interface LoyaltyFactsTable {
  customer_id: string;
  fact_id: string;
  kind: string;
  occurred_at: string;
  /** The LoyaltyFact as JSON. */
  doc: string;
}

/** Loyalty: referral links — `code-owner` (code → referrer), `code-use` (code → buyer), `referee` (friend → referrer). */
export interface LoyaltyLinksTable {
  kind: string;
  key: string;
  customer_id: string;
  fact_id: string;
}

/** Analytics (300–399): one compact row per commerce event, the only input of the metrics and models. */
export interface AnalyticsFactsTable {
  event_id: string;
  /** purchase | return | view | review | referral | identify */
  kind: string;
  customer_id: string | null;
  anonymous_id: string | null;
  /** occurredAt as UTC ISO, and as epoch ms for range scans. */
  occurred_at: string;
  occurred_ms: number;
  order_id: string | null;
  /** Purchase total or refund, minor units. */
  amount_minor: number | null;
  currency: string | null;
  rating: number | null;
  /** Referral code (referral; purchase's referralCode). */
  code: string | null;
  referee_id: string | null;
  /** Commit position in $all (as a number): readers top up in-memory copies with `seq > last`. */
  seq: number | null;
}

/** RFM: one row per recomputation (kept: the history). */
export interface RfmRunsTable {
  run_id: string;
  as_of: string;
  window_days: number;
  /** 'schedule' | 'demand' */
  trigger: string;
  /** The shop-local date of `as_of` (the daily schedule's key). */
  local_date: string;
  /** 'running' | 'done' | 'failed': only done runs are served. */
  status: string;
  started_at: string;
  finished_at: string | null;
  customers: number;
  duration_ms: number | null;
  /** Log position the run reflects (decimal commit position), null for runs before migration 720. */
  position: string | null;
}

/** RFM: each customer's scores per run. */
export interface RfmScoresTable {
  run_id: string;
  customer_id: string;
  r: number;
  f: number;
  m: number;
  segment: string;
  recency_days: number;
  orders: number;
  net_minor: number;
  last_order_at: string;
}

/** Segments: rule-based segment definitions (the events in `segment-<id>` are the record). */
export interface SegmentsTable {
  segment_id: string;
  name: string;
  version: number;
  /** The condition JSON. */
  condition: string;
  created_at: string;
  updated_at: string;
  deleted: number;
  /** 1 until every profile has been evaluated against the current version. */
  needs_sweep: number;
}

/** Segments: current members. */
export interface SegmentMembersTable {
  segment_id: string;
  customer_id: string;
  since: string;
}

/** Segments: persons whose profile changed since their last evaluation (written by the profile projection). */
export interface SegmentDirtyTable {
  customer_id: string;
  token: string;
}

/** Segments: membership changes waiting to be appended to `segment-members-<id>`. */
export interface SegmentOutboxTable {
  seq: string;
  event_id: string;
  segment_id: string;
  type: string;
  data: string;
}

/** API keys (510): the SHA-256 of each secret, never the secret. Instants are ISO-8601 UTC. */
export interface ApiKeysTable {
  id: string;
  name: string;
  hash: string;
  /** Scope names joined with ','. */
  scopes: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  /** Written at most once a minute per key. */
  last_used_at: string | null;
  /** The key this one replaced by rotation. */
  rotated_from: string | null;
}

export interface ReadModelSchema {
  schema_migrations: SchemaMigrationsTable;
  checkpoints: CheckpointsTable;
  profiles: ProfilesTable;
  customer_lookup: CustomerLookupTable;
  ingested_events: IngestedEventsTable;
  parked_events: ParkedEventsTable;
  rebuilds: RebuildsTable;
  projection_versions: ProjectionVersionsTable;
  projection_tables: ProjectionTablesTable;
  identity_sources: IdentitySourcesTable;
  identity_links: IdentityLinksTable;
  identity_merges: IdentityMergesTable;
  identity_state: IdentityStateTable;
  rfm_runs: RfmRunsTable;
  rfm_scores: RfmScoresTable;
  segments: SegmentsTable;
  segment_members: SegmentMembersTable;
  segment_dirty: SegmentDirtyTable;
  segment_outbox: SegmentOutboxTable;
  loyalty_facts: LoyaltyFactsTable;
  loyalty_links: LoyaltyLinksTable;
  analytics_facts: AnalyticsFactsTable;
  api_keys: ApiKeysTable;
  imports: ImportsTable;
  privacy_keys: PrivacyKeysTable;
  privacy_erasures: PrivacyErasuresTable;
  audit_log: AuditLogTable;
  audit_checkpoint: AuditCheckpointTable;
}

/** A person's data key (800), per stream subject (`customer-<id>`, `visitor-<id>`). */
export interface PrivacyKeysTable {
  subject: string;
  key_id: string;
  /** base64url of iv ‖ AES-256-GCM(KEK, data key) ‖ tag; null once erased (or erased before any key existed). */
  wrapped: string | null;
  /** Which key-encryption key wrapped it (its id, derived from the KEK: never the KEK). */
  kek_id: string;
  /** SHA-256 of the data key, 16 hex digits: what an erasure record names. */
  fingerprint: string;
  created_at: string;
  erased_at: string | null;
  erasure_id: string | null;
}

/** One erasure (800): PII-free, what `GET /v1/privacy/erasures/:id` answers. */
export interface PrivacyErasuresTable {
  erasure_id: string;
  requested_id: string;
  /** `customer` or `visitor`: which kind of id was asked for. */
  requested_kind: string;
  reason: string;
  reference: string | null;
  /** The API key's name that asked. */
  actor: string;
  erased_at: string;
  /** JSON array of the stream subjects whose keys were destroyed. */
  subjects: string;
  /** JSON array of the destroyed keys' fingerprints. */
  fingerprints: string;
  /** Log position of the `cairn.privacy.erased.v1` event. */
  position: string | null;
}

/**
 * The audit log's read model (820): one row per audited action, from the `cairn-audit` stream
 * (apps/api/src/audit). Ids and key names only, never a request body.
 */
export interface AuditLogTable {
  audit_id: string;
  /** Revision of the action's first event in the audit stream: the keyset order (newest first). */
  seq: number;
  action: string;
  actor_key_id: string;
  actor_key_name: string;
  /** When the action was requested (ISO-8601 UTC). */
  at: string;
  method: string;
  route: string;
  /** JSON object of target ids (route parameters, ids named by the body or the answer). */
  targets: string;
  /** `succeeded`, `failed`, or null while unknown (the completion was not recorded). */
  outcome: string | null;
  status_code: number | null;
  error_code: string | null;
  completed_at: string | null;
}

/** How far the audit stream has been copied into `audit_log` (one row, name 'audit'). */
export interface AuditCheckpointTable {
  name: string;
  revision: number;
}

/** One row per bulk import that appended something: analytics callers wait for the last one's position. */
export interface ImportsTable {
  import_id: string;
  finished_at: string;
  lines: number;
  accepted: number;
  /** Highest commit position the import reached (decimal, no leading zeros). */
  position: string;
}

export type StoreKind = 'sqlite' | 'postgres';
