/**
 * `cairn <command>`: the command-line composition root, on commander (kept, dependency-free, CommonJS
 * on Node 20, and it gives `--help` on every command and subcommand from the same declarations that
 * parse them). Each command's module is loaded lazily, so `cairn esdb` does not pay for Nest and
 * `cairn start` does not pay for the CLI tools. The client commands read `--url`/`--key`, else
 * CAIRN_URL/CAIRN_KEY (else CAIRN_ADMIN_KEY), through libs/config.
 */
import { existsSync, readFileSync } from 'fs';
import { dirname, join } from 'path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { loadClientConfig, loadConfig } from '@cairn/config';
import type { CliIo, Connection } from './ops-commands';

export interface MainIo extends CliIo {
  readonly err: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
}

/** The version in Cairn's package.json (found from the sources and from dist/ alike). */
function cairnVersion(): string {
  for (let dir = __dirname; dirname(dir) !== dir; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'cairn') return pkg.version ?? '0.0.0';
  }
  return '0.0.0';
}

const integer = (min: number, max: number) => (text: string) => {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
  return Number(text);
};

export function program(io: MainIo): Command {
  const root = new Command('cairn')
    .description('Cairn: an event-sourced customer-journey engine for online shops')
    .version(cairnVersion(), '-V, --version', 'print the version of Cairn')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.out.write(s), writeErr: (s) => io.err.write(s) })
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .exitOverride();
  // .command() copies the parent's output and error handling into the subcommand.
  const command = (parent: Command, name: string, description: string) => parent.command(name).description(description);

  /** --url and --key of the client commands, resolved through the typed config. */
  const client = (c: Command) =>
    c
      .option('--url <url>', 'address of a running Cairn (env CAIRN_URL; default http://127.0.0.1:$PORT; "localhost:3000" means http://)')
      .option('--key <key>', 'API key (env CAIRN_KEY, else CAIRN_ADMIN_KEY)');
  const connect = (opts: { url?: string; key?: string }, scope: string): Connection => {
    const { url, key } = loadClientConfig(io.env, opts);
    if (!key) throw new Error(`no API key: pass --key or set CAIRN_KEY (a key with the ${scope} scope)`);
    return { url, key };
  };

  const serve = (name: 'start' | 'api' | 'projector', description: string) =>
    command(root, name, description)
      .option('--port <n>', 'HTTP port of the API (env PORT; default 3000; 0: any free port)')
      .option('--data-dir <dir>', 'data directory: <dir>/eventstore for the embedded node, <dir>/read-models.sqlite (env CAIRN_DATA_DIR; default ./data)')
      .option('--esdb-port <n>', 'port of the embedded node (env CAIRN_ESDB_PORT; default 2113; 0: any free port)')
      .option('--event-store <url>', 'EventStoreDB connection string, esdb://host:2113?tls=false (env CAIRN_EVENTSTORE; default: the embedded node)')
      .option('--read-model <url>', 'postgres://… or sqlite:<path> (env CAIRN_READ_MODEL; default sqlite:<data dir>/read-models.sqlite)')
      .addHelpText('after', '\nEvery other setting comes from the environment (see README.md, "Configuration"). SIGTERM/SIGINT drain, then exit 0.')
      .action(async (opts: { port?: string; dataDir?: string; esdbPort?: string; eventStore?: string; readModel?: string }) => {
        const { serveCommand } = await import('./serve');
        await serveCommand({ api: name !== 'projector', projector: name !== 'api' }, io, opts);
      });
  const start = serve('start', 'run everything in one process: event store (embedded unless CAIRN_EVENTSTORE), API and projector');
  root.addHelpText('after', () => {
    const lines = start.options.filter((o) => o.long !== '--help').map((o) => `  ${o.flags.padEnd(20)} ${o.description}`);
    return `\nOptions of start, api and projector (what \`npm start\` runs):\n${lines.join('\n')}\n\nEvery command and subcommand takes --help, e.g. cairn import --help, cairn keys create --help.\nClient commands read --url/--key, else CAIRN_URL and CAIRN_KEY (else CAIRN_ADMIN_KEY).`;
  });
  serve('api', 'run the HTTP API only (projections are read from the shared read store)');
  serve('projector', 'run the projector only (needs CAIRN_EVENTSTORE and CAIRN_READ_MODEL: the stores shared with the API)');

  command(root, 'esdb', 'run the embedded EventStoreDB-protocol node on its own, for any EventStoreDB client')
    .option('--port <n>', 'port to listen on (0: any free port)', integer(0, 65535), 2113)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .addOption(new Option('--data-dir <dir>', "keep the log in <dir> (SQLite); default <CAIRN_DATA_DIR or ./data>/eventstore, cairn start's layout").conflicts('memory'))
    .option('--memory', 'keep the log in memory only')
    .addOption(new Option('--insecure', 'plain-text gRPC, no authentication, no ACLs (the default)').conflicts(['cert', 'key']))
    .option('--cert <file>', 'serve TLS with this PEM certificate (with --key); users, passwords and ACLs are then enforced')
    .option('--key <file>', 'the PEM private key of --cert')
    .option('--users-file <file>', 'with TLS: users besides admin/ops (password changeit), {"users":[{"name","password","groups"}]}')
    .option('--max-append-size <bytes>', 'largest accepted append', integer(1, 16 * 1024 * 1024), 1024 * 1024)
    .action(async (opts: { port: number; host: string; dataDir?: string; memory?: boolean; cert?: string; key?: string; usersFile?: string; maxAppendSize: number }) => {
      if ((opts.cert === undefined) !== (opts.key === undefined)) throw new Error('--cert and --key go together');
      if (opts.usersFile !== undefined && opts.cert === undefined) throw new Error('--users-file needs --cert/--key (without TLS the node is insecure and has no users)');
      const { serveEmbeddedNode } = await import('@cairn/esdb-embedded');
      await serveEmbeddedNode(
        {
          port: opts.port,
          host: opts.host,
          maxAppendSize: opts.maxAppendSize,
          ...(opts.memory ? {} : { dataDir: opts.dataDir ?? loadConfig(io.env).eventStoreDir }),
          ...(opts.cert !== undefined && opts.key !== undefined ? { tls: { certFile: opts.cert, keyFile: opts.key } } : {}),
          ...(opts.usersFile !== undefined ? { usersFile: opts.usersFile } : {}),
        },
        io.out,
      );
    });

  const importCmd = client(command(root, 'import', 'bulk import through POST /v1/events/import, idempotently and resumably (key with the import scope)'))
    .argument('<file>', 'NDJSON file, one event of the POST /v1/events contract per line, each with an id; - for stdin')
    .option('--from-line <n>', 'start at this line of the file (to resume by hand)', integer(1, Number.MAX_SAFE_INTEGER), 1)
    .option('--retries <n>', 'failed attempts in a row without progress before giving up', integer(0, 1000), 8)
    .action(async (file: string, opts: { url?: string; key?: string; fromLine: number; retries: number }) => {
      const { importNdjsonCommand } = await import('./import-ndjson');
      await importNdjsonCommand(file, { fromLine: opts.fromLine, retries: opts.retries }, connect(opts, 'import'), io);
    });
  client(command(importCmd, 'cdnow', 'import CDNOW purchase records (customer date cds dollars) through the same bulk import, idempotently'))
    .argument('<file>', 'a CDNOW file (e.g. CDNOW_sample.txt)')
    .option('--tz <zone>', 'IANA timezone of the dates (each becomes local noon)', 'UTC')
    .action(async (file: string, opts: { url?: string; key?: string; tz: string }) => {
      const { importCdnowCommand } = await import('./import-cdnow');
      await importCdnowCommand(file, opts.tz, connect(opts, 'import'), io);
    });

  const clv = command(root, 'clv', 'customer-value models');
  client(command(clv, 'fit', 'fit BG/NBD and Gamma-Gamma, from a running Cairn (GET /v1/metrics/clv) or offline from a CDNOW file'))
    .requiredOption('--calibration-end <date>', 'last day of the calibration period, YYYY-MM-DD')
    .addOption(new Option('--unit <unit>', 'time unit of the models').choices(['week', 'day']).default('week'))
    .option('--json', 'print JSON')
    .option('--tz <zone>', "timezone of the calendar (default: the server's CAIRN_TIMEZONE)")
    .option('--min-position <commit>', 'wait until the read models include this log position (409 CAIRN.STALE_READ after CAIRN_READ_WAIT_MS); default: the position the last import reached (lastImport), and a plain warning on stderr when no import is recorded')
    .option('--file <cdnow>', 'fit this CDNOW file without a server')
    .action(async (opts: { url?: string; key?: string; calibrationEnd: string; unit: 'week' | 'day'; json?: boolean; tz?: string; minPosition?: string; file?: string }) => {
      const { clvCommand } = await import('./clv');
      await clvCommand(opts, opts.file ? null : connect(opts, 'read'), io);
    });

  const projections = command(root, 'projections', 'projection health and parked (poison) events of a running Cairn (admin key)');
  const ops = async () => import('./ops-commands');
  client(command(projections, 'status', 'checkpoint, lag, rate, parked count and last error of each projection'))
    .option('--json', 'print JSON')
    .action(async (opts: { url?: string; key?: string; json?: boolean }) => (await ops()).projectionsCommand(io)('status', opts, connect(opts, 'admin')));
  client(command(projections, 'parked', 'events a projection could not fold'))
    .option('--projection <name>', 'only this projection')
    .option('--limit <n>', 'at most this many', integer(1, 10_000))
    .option('--json', 'print JSON')
    .action(async (opts: { url?: string; key?: string; projection?: string; limit?: number; json?: boolean }) => (await ops()).projectionsCommand(io)('parked', opts, connect(opts, 'admin')));
  client(command(projections, 'retry-parked', 'fold the parked events again (exit 1 if some still fail)'))
    .option('--projection <name>', 'only this projection')
    .option('--json', 'print JSON')
    .action(async (opts: { url?: string; key?: string; projection?: string; json?: boolean }) => (await ops()).projectionsCommand(io)('retry-parked', opts, connect(opts, 'admin')));

  client(command(root, 'rebuild', 'rebuild projections without downtime, with progress (admin key)'))
    .argument('<projections>', 'a projection name, several comma-separated, or all')
    .option('--keep-old', 'keep the old rows in renamed tables after the switch')
    .option('--strict', 'fail the rebuild at the first event a projection cannot fold, instead of parking it')
    .action(async (target: string, opts: { url?: string; key?: string; keepOld?: boolean; strict?: boolean }) => (await ops()).rebuildCommand(io)(target, opts, connect(opts, 'admin')));

  client(command(root, 'replay', 'replay history into a scratch store: bi-temporal (as of, known at) and what-if rules (admin key)'))
    .option('--projections <a,b>', 'projections to replay (default: all)')
    .option('--as-of <time>', 'business time: only events that occurred up to then')
    .option('--known-at <time>', 'knowledge time: only events recorded up to then')
    .option('--rules <file>', 'JSON file of what-if rules (e.g. {"currency":"EUR"})')
    .option('--out <dir>', 'where to write the result files', 'replay')
    .action(async (opts: { url?: string; key?: string; projections?: string; asOf?: string; knownAt?: string; rules?: string; out: string }) => (await ops()).replayCommand(io)(opts, connect(opts, 'admin')));

  const keys = command(root, 'keys', 'API keys of a running Cairn (admin key)');
  client(command(keys, 'list', 'every key with its scopes and state (never a secret)'))
    .option('--json', 'print JSON')
    .action(async (opts: { url?: string; key?: string; json?: boolean }) => (await ops()).keysCommand(io).list(opts, connect(opts, 'admin')));
  client(command(keys, 'create', 'create a key; its secret is printed only this once'))
    .requiredOption('--name <name>', 'what the key is for, e.g. storefront')
    .requiredOption('--scopes <a,b>', 'comma-separated: ingest, read, import, loyalty:write, admin')
    .option('--expires-at <time>', 'ISO 8601 time after which the key is refused')
    .option('--json', 'print JSON')
    .action(async (opts: { url?: string; key?: string; name: string; scopes: string; expiresAt?: string; json?: boolean }) => (await ops()).keysCommand(io).create(opts, connect(opts, 'admin')));
  client(command(keys, 'revoke', 'revoke a key everywhere (within a second)'))
    .argument('<id>', 'the key id (cairn keys list)')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { url?: string; key?: string; json?: boolean }) => (await ops()).keysCommand(io).revoke(id, opts, connect(opts, 'admin')));
  client(command(keys, 'rotate', 'a new secret for a key; the old one stays valid for --grace seconds'))
    .argument('<id>', 'the key id (cairn keys list)')
    .option('--grace <seconds>', 'how long the old secret stays valid (0: revoked at once)', integer(0, 10 * 365 * 86_400))
    .option('--expires-at <time>', 'ISO 8601 expiry of the new secret')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { url?: string; key?: string; grace?: number; expiresAt?: string; json?: boolean }) => (await ops()).keysCommand(io).rotate(id, opts, connect(opts, 'admin')));

  client(command(root, 'audit', 'the audit log: admin and privacy actions, newest first, with the key that did each (admin key)'))
    .option('--action <name>', 'only this action, e.g. api-key.created, identity.merged, privacy.erased')
    .option('--actor <key>', 'only actions of this key (its name or id)')
    .option('--from <time>', 'only actions at or after this ISO 8601 instant')
    .option('--to <time>', 'only actions before this ISO 8601 instant')
    .option('--limit <n>', 'entries per page', integer(1, 500))
    .option('--after <cursor>', 'the page after this cursor (printed after a page)')
    .option('--all', 'follow the pages to the end')
    .option('--json', 'print JSON')
    .action(async (opts: { url?: string; key?: string; action?: string; actor?: string; from?: string; to?: string; limit?: number; after?: string; all?: boolean; json?: boolean }) =>
      (await ops()).auditCommand(io)(opts, connect(opts, 'admin')),
    );

  const privacy = command(root, 'privacy', "a person's data: export it, erase it (docs/privacy.md; admin key)");
  client(command(privacy, 'export', 'everything Cairn holds about a person, decrypted, as one JSON document'))
    .argument('<customerId>', 'any customer id of the person')
    .option('--out <file>', 'write it to this file (mode 0600) instead of stdout')
    .action(async (id: string, opts: { url?: string; key?: string; out?: string }) => (await ops()).privacyCommand(io).export(id, opts, connect(opts, 'admin')));
  client(command(privacy, 'erase', "forget a person: destroy the data keys of every id of theirs (their personal values become unreadable everywhere; figures stay)"))
    .argument('<id>', 'the customer id (or, with --anonymous, the anonymous id)')
    .addOption(new Option('--reason <reason>', 'why (a fixed list, so the record stays free of personal data)').choices(['data-subject-request', 'account-closed', 'legal-obligation', 'consent-withdrawn', 'other']).makeOptionMandatory())
    .option('--reference <id>', "the shop's own reference, e.g. a ticket id")
    .option('--anonymous', 'the id is an anonymous (visitor) id')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { url?: string; key?: string; reason: string; reference?: string; anonymous?: boolean; json?: boolean }) => (await ops()).privacyCommand(io).erase(id, opts, connect(opts, 'admin')));
  client(command(privacy, 'erasure', 'one erasure record'))
    .argument('<erasureId>', 'the id `cairn privacy erase` printed')
    .option('--json', 'print JSON')
    .action(async (erasureId: string, opts: { url?: string; key?: string; json?: boolean }) => (await ops()).privacyCommand(io).erasure(erasureId, opts, connect(opts, 'admin')));

  return root;
}

/** Runs `cairn <argv>`; usage errors are printed by commander and set the exit code (2 for usage). */
export async function main(argv: string[], io: Partial<MainIo> = {}): Promise<void> {
  const full: MainIo = { out: process.stdout, err: process.stderr, env: process.env, ...io };
  try {
    await program(full).parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    // --help and --version end here with exit code 0; a usage error has already been printed.
    if (err.exitCode !== 0) process.exitCode = 2;
  }
}
