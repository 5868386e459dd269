/**
 * Cairn's configuration: read from the environment and command-line flags once, at boot, validated
 * with class-validator into one typed object. Nothing else in Cairn reads `process.env`.
 */
import { plainToInstance } from 'class-transformer';
import { ValidationError, IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength, ValidateIf, validateSync } from 'class-validator';
import { resolve } from 'path';
import { CairnError, ERROR_CODES } from '@cairn/domain';

const ORIGIN = String.raw`https?://[A-Za-z0-9.\-\[\]:]+/?`;
/** `*`, `none`, or a comma-separated list of scheme://host[:port] origins. */
const CORS_ORIGINS = new RegExp(String.raw`^\s*(\*|none|${ORIGIN}(\s*,\s*${ORIGIN})*)\s*$`);
const CORS_MESSAGE = 'must be *, none, or comma-separated origins such as https://shop.example,https://admin.example:8443 (scheme and host, no path)';

/** The allowed origins of a CORS setting: true for any, [] for none. */
export function corsOriginList(setting: string): true | string[] {
  const s = setting.trim();
  if (s === '*') return true;
  if (s === 'none') return [];
  return s.split(',').map((o) => o.trim().replace(/\/+$/, '')).filter(Boolean);
}

export class CairnConfig {
  /** CAIRN_EVENTSTORE: an EventStoreDB connection string; absent → the embedded node is started. */
  @IsOptional()
  @Matches(/^esdb(\+discover)?:\/\/\S+$/, { message: 'must be an EventStoreDB connection string (esdb://host:port?tls=false)' })
  eventStore?: string;

  /** CAIRN_DATA_DIR / --data-dir: where the embedded node, SQLite read models and keys live. */
  @IsString()
  @MinLength(1)
  dataDir = './data';

  /** PORT / --port: HTTP port of the API. */
  @IsInt()
  @Min(0)
  @Max(65535)
  port = 3000;

  /** CAIRN_HOST: interface the API binds to. */
  @IsString()
  host = '0.0.0.0';

  /**
   * CAIRN_PROJECTOR_HEALTH_PORT: `cairn projector` (which serves no API) answers GET /health/live
   * and /health/ready on this port, for a container healthcheck or an orchestrator's probes (the
   * image sets 3001); 0 = ephemeral (printed at start); `off` (default: several projectors may share
   * a machine) serves nothing.
   */
  @ValidateIf((c: CairnConfig) => c.projectorHealthPort !== 'off')
  @IsInt({ message: 'must be a port number or off' })
  @Min(0)
  @Max(65535)
  projectorHealthPort: number | 'off' = 'off';

  /** CAIRN_ESDB_PORT / --esdb-port: port of the embedded node (0 = ephemeral). */
  @IsInt()
  @Min(0)
  @Max(65535)
  esdbPort = 2113;

  /** CAIRN_READ_MODEL: `postgres://…` for PostgreSQL; default SQLite under the data directory. */
  @IsOptional()
  @Matches(/^(postgres(ql)?:\/\/\S+|sqlite:.+|:memory:)$/, { message: 'must be postgres://…, sqlite:<path> or :memory:' })
  readModel?: string;

  /** CAIRN_ADMIN_KEY: sets the admin API key explicitly (otherwise one is generated on first start). */
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'must be at least 16 characters' })
  @MaxLength(200)
  adminKey?: string;

  /**
   * CAIRN_KEK: the key-encryption key that wraps every person's data key (docs/privacy.md): 32
   * bytes, base64 (`openssl rand -base64 32`). Or CAIRN_KEK_FILE: a file holding it (mode 0600).
   * Neither: one is generated at first start into `<dataDir>/kek` (mode 0600).
   */
  @IsOptional()
  @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'must be 32 bytes in base64 (44 characters, as `openssl rand -base64 32` prints)' })
  kek?: string;

  /** CAIRN_KEK_FILE: path of a file holding the key-encryption key (base64 of 32 bytes). */
  @IsOptional()
  @IsString()
  @MinLength(1)
  kekFile?: string;

  /**
   * CAIRN_ALLOW_EMAIL_IDS: `true` accepts ids that look like email addresses. Off by default: ids
   * are pseudonyms kept forever in the log, where an erasure cannot reach them (docs/privacy.md).
   */
  @IsIn(['true', 'false'])
  allowEmailIds: 'true' | 'false' = 'false';

  /** CAIRN_CURRENCY: the shop's base currency (ISO 4217). */
  @Matches(/^[A-Z]{3}$/, { message: 'must be an ISO 4217 code such as USD' })
  currency = 'USD';

  /** CAIRN_TIMEZONE: the shop's IANA timezone, for calendar periods (cohorts, schedules). */
  @IsString()
  @Matches(/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$|^UTC$/, { message: 'must be an IANA timezone such as Europe/Berlin' })
  timezone = 'UTC';

  /**
   * CAIRN_CORS_ORIGINS: browser origins allowed on the read, loyalty and admin routes
   * (comma-separated `https://host[:port]`, or `*`, or `none`). Default none: those keys belong on servers.
   */
  @Matches(CORS_ORIGINS, { message: CORS_MESSAGE })
  corsOrigins = 'none';

  /** CAIRN_CORS_INGEST_ORIGINS: browser origins allowed on POST /v1/events (same form). Default `*`: storefront SDKs run on any shop domain. */
  @Matches(CORS_ORIGINS, { message: CORS_MESSAGE })
  corsIngestOrigins = '*';

  /** CAIRN_LOG_LEVEL */
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  logLevel = 'info';

  /** CAIRN_PROJECTOR_BATCH_SIZE: events per projector transaction at most. */
  @IsInt()
  @Min(1)
  @Max(100_000)
  projectorBatchSize = 1000;

  /** CAIRN_PROJECTOR_BATCH_MS: longest a projector batch waits to fill. */
  @IsInt()
  @Min(1)
  @Max(60_000)
  projectorBatchMs = 20;

  /**
   * CAIRN_PROJECTOR_MEMORY_MB: in-memory fold state (profiles' cores) the projection engine keeps
   * before evicting. 64 by default: `cairn start` (API, projector and embedded node in one process)
   * idles at ~130 MB RSS and V8 keeps a heap of 2-4x what is live under load, so 256 alone would
   * put the process far above its 250 MB target; evicted cores are read back by primary key.
   */
  @IsInt()
  @Min(16)
  @Max(65_536)
  projectorMemoryMb = 64;

  /**
   * CAIRN_PROJECTOR_HEAP_MB: the V8 old-generation limit of the projector thread of `cairn start`
   * (it collects garbage before growing past it). A thread whose live data exceeds it ends with an
   * out-of-memory error and is restarted from its checkpoints (visible in /v1/projections).
   */
  @IsInt()
  @Min(64)
  @Max(65_536)
  projectorHeapMb = 384;

  /**
   * CAIRN_PROJECTOR_THREAD: `on` (default) runs the projection engine of `cairn start` in a worker
   * thread it supervises, so the HTTP event loop serves only HTTP; `off` runs it on the main thread.
   */
  @IsIn(['on', 'off'])
  projectorThread: 'on' | 'off' = 'on';

  /**
   * CAIRN_NODE_THREAD: `on` (default) runs the embedded node of `cairn start` / `cairn api` in a
   * worker thread, so the server's half of each append (gRPC decode, SQLite commit) runs beside the
   * HTTP event loop; `off` runs it on the main thread. No effect with CAIRN_EVENTSTORE.
   */
  @IsIn(['on', 'off'])
  nodeThread: 'on' | 'off' = 'on';

  /**
   * CAIRN_IMPORT_GROUP_EVENTS: lines of a bulk import (POST /v1/events/import) appended together,
   * one append per stream of the group. Larger groups mean fewer, larger appends (and group
   * commits); memory holds about two groups (each also capped at 8 MiB of events).
   */
  @IsInt()
  @Min(1)
  @Max(100_000)
  importGroupEvents = 10_000;

  /** CAIRN_READ_WAIT_MS: longest a query waits for `minPosition` before answering 409. */
  @IsInt()
  @Min(0)
  @Max(60_000)
  readWaitMs = 2000;

  /**
   * CAIRN_HEAD_WAIT_MS: how long a read answer waits for the event store to say where the head of
   * the log is (its X-Cairn-Head and lag headers) before it says `unknown`; the answer itself comes
   * from the read store and is never held up longer than this by a slow or absent event store.
   */
  @IsInt()
  @Min(0)
  @Max(60_000)
  headWaitMs = 1000;

  /** CAIRN_SHUTDOWN_TIMEOUT_MS: how long SIGTERM waits for in-flight work. */
  @IsInt()
  @Min(0)
  @Max(600_000)
  shutdownTimeoutMs = 10_000;

  /**
   * CAIRN_STARTUP_TIMEOUT_MS: at boot, how long Cairn waits for an unreachable event store or
   * PostgreSQL read store (retrying with backoff and logging each attempt) before it exits naming
   * the component. 0 → fail at the first attempt.
   */
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  startupTimeoutMs = 30_000;

  /** CAIRN_DISK_MIN_FREE_MB: /health/ready reports the disk down when less is free under the data directory. */
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  diskMinFreeMb = 4;

  /** CAIRN_IDENTITY_SHARED_DEVICE_LIMIT: an anonymous id linked to more customers than this is a shared device, not merged. */
  @IsInt()
  @Min(1)
  @Max(1000)
  identitySharedDeviceLimit = 3;

  /** CAIRN_LIFECYCLE_NEW_DAYS: first order within this many days → lifecycle stage "new". */
  @IsInt()
  @Min(1)
  @Max(3650)
  lifecycleNewDays = 30;

  /** CAIRN_LIFECYCLE_ACTIVE_DAYS: last order within this many days → "active". */
  @IsInt()
  @Min(1)
  @Max(3650)
  lifecycleActiveDays = 90;

  /** CAIRN_LIFECYCLE_LAPSED_DAYS: last order older than this many days → "lapsed" (between active and this: "at_risk"). */
  @IsInt()
  @Min(1)
  @Max(3650)
  lifecycleLapsedDays = 180;

  /** CAIRN_RFM_WINDOW_DAYS: RFM looks at orders within this many days before its as-of date. */
  @IsInt()
  @Min(1)
  @Max(3650)
  rfmWindowDays = 365;

  /** CAIRN_RFM_SCHEDULE: 'daily' recomputes RFM once per shop-local day; 'off' only on demand. */
  @IsIn(['daily', 'off'])
  rfmSchedule = 'daily';

  /** CAIRN_SEGMENT_INTERVAL_MS: every segment is re-evaluated over all profiles this often (rolling windows flip as time passes). */
  @IsInt()
  @Min(1000)
  @Max(86_400_000)
  segmentIntervalMs = 60_000;

  /** CAIRN_SEGMENT_POLL_MS: how often changed profiles, new definitions and membership events are processed. */
  @IsInt()
  @Min(10)
  @Max(60_000)
  segmentPollMs = 500;

  /**
   * The one data directory layout that `cairn start`, `api`, `projector` and `esdb` share:
   * `<dataDir>/eventstore` holds the embedded node's log, `<dataDir>/read-models.sqlite` the
   * SQLite read models (and with them the API keys).
   */
  get eventStoreDir(): string {
    return resolve(this.dataDir, 'eventstore');
  }

  /** CAIRN_SEGMENT_CUSTOM_EVENTS: what the Segment door does with a track event outside the e-commerce mapping — 'keep' it as a custom event (cairn.custom.v1: name and properties, in the timeline), or 'reject' it (answered "unmapped", not recorded). */
  @IsIn(['keep', 'reject'])
  segmentCustomEvents: 'keep' | 'reject' = 'keep';

  /** CAIRN_WEBHOOK_URLS: 'strict' — webhook URLs must be https, resolve, and not be loopback; 'dev' also allows http, loopback and unresolvable names. Link-local and metadata addresses are refused under both. */
  @IsIn(['strict', 'dev'])
  webhookUrls: 'strict' | 'dev' = 'strict';

  /** CAIRN_WEBHOOK_RETRY_BASE_MS: first retry of a failed webhook delivery after about this long, doubling per attempt (at most an hour per step), jittered. */
  @IsInt()
  @Min(10)
  @Max(3_600_000)
  webhookRetryBaseMs = 5000;

  /** CAIRN_WEBHOOK_RETRY_FOR_MS: how long a delivery is retried before it is dead-lettered. */
  @IsInt()
  @Min(1000)
  @Max(7 * 86_400_000)
  webhookRetryForMs = 86_400_000;

  /** CAIRN_WEBHOOK_TIMEOUT_MS: longest wait for an endpoint's answer. */
  @IsInt()
  @Min(100)
  @Max(60_000)
  webhookTimeoutMs = 10_000;

  /** CAIRN_WEBHOOK_POLL_MS: how often due retries are looked for. */
  @IsInt()
  @Min(10)
  @Max(60_000)
  webhookPollMs = 500;

  /** CAIRN_WEBHOOK_SIGNALS_MS: how often tiers, points, expiries and lapses are re-read for tier.changed, points.earned, points.expiring and customer.lapsed (only while an endpoint asks for one): the most such a delivery lags. */
  @IsInt()
  @Min(10)
  @Max(86_400_000)
  webhookSignalsMs = 60_000;

  /** The read-model URL actually used. */
  get readModelUrl(): string {
    return this.readModel ?? `sqlite:${resolve(this.dataDir, 'read-models.sqlite')}`;
  }
}

/** Which environment variable (or flag) feeds which setting, for error messages. */
const ENV: Record<keyof Omit<CairnConfig, 'readModelUrl' | 'eventStoreDir'>, string> = {
  eventStore: 'CAIRN_EVENTSTORE',
  dataDir: 'CAIRN_DATA_DIR',
  port: 'PORT',
  host: 'CAIRN_HOST',
  esdbPort: 'CAIRN_ESDB_PORT',
  readModel: 'CAIRN_READ_MODEL',
  adminKey: 'CAIRN_ADMIN_KEY',
  kek: 'CAIRN_KEK',
  kekFile: 'CAIRN_KEK_FILE',
  allowEmailIds: 'CAIRN_ALLOW_EMAIL_IDS',
  currency: 'CAIRN_CURRENCY',
  logLevel: 'CAIRN_LOG_LEVEL',
  timezone: 'CAIRN_TIMEZONE',
  corsOrigins: 'CAIRN_CORS_ORIGINS',
  corsIngestOrigins: 'CAIRN_CORS_INGEST_ORIGINS',
  projectorBatchSize: 'CAIRN_PROJECTOR_BATCH_SIZE',
  projectorBatchMs: 'CAIRN_PROJECTOR_BATCH_MS',
  projectorMemoryMb: 'CAIRN_PROJECTOR_MEMORY_MB',
  projectorHeapMb: 'CAIRN_PROJECTOR_HEAP_MB',
  projectorThread: 'CAIRN_PROJECTOR_THREAD',
  nodeThread: 'CAIRN_NODE_THREAD',
  projectorHealthPort: 'CAIRN_PROJECTOR_HEALTH_PORT',
  importGroupEvents: 'CAIRN_IMPORT_GROUP_EVENTS',
  readWaitMs: 'CAIRN_READ_WAIT_MS',
  headWaitMs: 'CAIRN_HEAD_WAIT_MS',
  shutdownTimeoutMs: 'CAIRN_SHUTDOWN_TIMEOUT_MS',
  startupTimeoutMs: 'CAIRN_STARTUP_TIMEOUT_MS',
  diskMinFreeMb: 'CAIRN_DISK_MIN_FREE_MB',
  identitySharedDeviceLimit: 'CAIRN_IDENTITY_SHARED_DEVICE_LIMIT',
  lifecycleNewDays: 'CAIRN_LIFECYCLE_NEW_DAYS',
  lifecycleActiveDays: 'CAIRN_LIFECYCLE_ACTIVE_DAYS',
  lifecycleLapsedDays: 'CAIRN_LIFECYCLE_LAPSED_DAYS',
  rfmWindowDays: 'CAIRN_RFM_WINDOW_DAYS',
  rfmSchedule: 'CAIRN_RFM_SCHEDULE',
  segmentIntervalMs: 'CAIRN_SEGMENT_INTERVAL_MS',
  segmentPollMs: 'CAIRN_SEGMENT_POLL_MS',
  webhookUrls: 'CAIRN_WEBHOOK_URLS',
  webhookRetryBaseMs: 'CAIRN_WEBHOOK_RETRY_BASE_MS',
  webhookRetryForMs: 'CAIRN_WEBHOOK_RETRY_FOR_MS',
  webhookTimeoutMs: 'CAIRN_WEBHOOK_TIMEOUT_MS',
  webhookPollMs: 'CAIRN_WEBHOOK_POLL_MS',
  webhookSignalsMs: 'CAIRN_WEBHOOK_SIGNALS_MS',
  segmentCustomEvents: 'CAIRN_SEGMENT_CUSTOM_EVENTS',
};
const NUMERIC = new Set(['webhookRetryBaseMs', 'webhookRetryForMs', 'webhookTimeoutMs', 'webhookPollMs', 'webhookSignalsMs', 'segmentIntervalMs', 'segmentPollMs', 'rfmWindowDays', 'identitySharedDeviceLimit', 'lifecycleNewDays', 'lifecycleActiveDays', 'lifecycleLapsedDays', 'port', 'esdbPort', 'projectorBatchSize', 'projectorBatchMs', 'projectorMemoryMb', 'projectorHeapMb', 'importGroupEvents', 'projectorHealthPort', 'readWaitMs', 'headWaitMs', 'shutdownTimeoutMs', 'startupTimeoutMs', 'diskMinFreeMb']);

/** Settings whose values an error message never repeats. */
const SECRETS = new Set(['adminKey', 'kek']);

/**
 * Builds the config from the environment and flags (flags win), then validates it.
 * A wrong value throws CAIRN.CONFIG naming the setting and the reason.
 */
export function loadConfig(env: NodeJS.ProcessEnv, overrides: Partial<Record<keyof typeof ENV, string | number>> = {}): CairnConfig {
  const raw: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(ENV)) {
    const value = overrides[key as keyof typeof ENV] ?? env[name];
    if (value === undefined || value === '') continue;
    raw[key] = NUMERIC.has(key) && typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  }
  const config = plainToInstance(CairnConfig, raw);
  const errors = validateSync(config, { forbidUnknownValues: true });
  if (!errors.some((e) => e.property === 'timezone') && !isTimeZone(config.timezone)) {
    errors.push(Object.assign(new ValidationError(), { property: 'timezone', value: config.timezone, constraints: { timezone: 'is not a timezone this runtime knows (IANA name such as Europe/Berlin)' } }));
  }
  if (errors.length > 0) {
    const lines = errors.map((e) => {
      const setting = ENV[e.property as keyof typeof ENV] ?? e.property;
      // Secrets are named, never echoed.
      const got = SECRETS.has(e.property) ? 'a value of that form was not given' : `got ${JSON.stringify(e.value)}`;
      return `${setting}: ${Object.values(e.constraints ?? {}).join('; ')} (${got})`;
    });
    throw new CairnError(ERROR_CODES.CONFIG, `invalid configuration:\n  ${lines.join('\n  ')}`, { settings: errors.map((e) => ENV[e.property as keyof typeof ENV]) });
  }
  return config;
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** What the client commands (`cairn import | keys | projections | rebuild | replay | clv`) talk to. */
export interface ClientConfig {
  /** CAIRN_URL / --url, normalised: scheme, host, port, no trailing slash. Default http://127.0.0.1:$PORT. */
  readonly url: string;
  /** CAIRN_KEY / --key, else CAIRN_ADMIN_KEY (this machine's admin key); absent when none is set. */
  readonly key?: string;
}

/**
 * The client commands' settings, flags first, then the environment. An address without a scheme
 * (`localhost:3000`, `cairn.internal`) means http://; any scheme other than http/https, or
 * something that is not an address, throws CAIRN.CONFIG naming the setting.
 */
export function loadClientConfig(env: NodeJS.ProcessEnv, flags: { url?: string; key?: string } = {}): ClientConfig {
  const pick = (...values: (string | undefined)[]) => values.find((v) => v !== undefined && v.trim() !== '')?.trim();
  const fail = (setting: string, message: string, value: string) => {
    throw new CairnError(ERROR_CODES.CONFIG, `${setting}: ${message} (got ${JSON.stringify(value)})`, { settings: [setting] });
  };
  const port = pick(env.PORT);
  if (port !== undefined && !/^\d{1,5}$/.test(port)) fail('PORT', 'must be a port number', port);
  const setting = pick(flags.url) !== undefined ? '--url' : 'CAIRN_URL';
  const raw = pick(flags.url, env.CAIRN_URL) ?? `http://127.0.0.1:${port ?? 3000}`;
  const example = 'an http(s) address such as http://127.0.0.1:3000 or localhost:3000';
  const schemed = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(raw);
  if (!schemed && /^\d+$/.test(raw)) fail(setting, `must be ${example}; a port alone is not an address (localhost:${raw}?)`, raw);
  let url: URL;
  try {
    url = new URL(schemed ? raw : `http://${raw}`);
  } catch {
    return fail(setting, `must be ${example}`, raw);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(setting, `must be ${example}; ${url.protocol}// is not served by Cairn`, raw);
  if (url.search || url.hash || url.username) fail(setting, `must be ${example}, without query, fragment or credentials`, raw);
  const key = pick(flags.key, env.CAIRN_KEY, env.CAIRN_ADMIN_KEY);
  return { url: `${url.origin}${url.pathname.replace(/\/+$/, '')}`, ...(key !== undefined ? { key } : {}) };
}
