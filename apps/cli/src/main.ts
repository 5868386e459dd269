/**
 * `cairn <command>`: the command-line composition root. Each command lives in its own module and is
 * loaded lazily, so `cairn esdb` does not pay for Nest and `cairn start` does not pay for the CLI tools.
 */
type Command = (args: string[]) => Promise<void>;

const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  start: {
    summary: 'run everything in one process: event store (embedded unless CAIRN_EVENTSTORE), API and projector [--port N] [--data-dir DIR]',
    load: async () => (await import('./serve')).serveCommand({ api: true, projector: true }),
  },
  api: {
    summary: 'run the HTTP API only (projections are read from the read store)',
    load: async () => (await import('../../api/src/main')).apiCommand,
  },
  projector: {
    summary: 'run the projector only (set CAIRN_EVENTSTORE and CAIRN_READ_MODEL to the shared stores)',
    load: async () => (await import('../../projector/src/main')).projectorCommand,
  },
  import: {
    summary: 'bulk import through POST /v1/events/import, idempotently and resumably: import <file.ndjson|-> [--url URL] [--key KEY] [--from-line N] [--retries N] | import cdnow <file> [--url URL] [--key KEY] [--tz ZONE]',
    load: async () => (await import('./import-cdnow')).importCommand,
  },
  clv: {
    summary: 'fit the BG/NBD + Gamma-Gamma models: clv fit --calibration-end YYYY-MM-DD [--unit week|day] [--json] [--url URL] [--key KEY] [--file CDNOW_FILE]',
    load: async () => (await import('./clv')).clvCommand,
  },
  esdb: {
    summary: 'run the embedded EventStoreDB-protocol node on its own',
    load: async () => (await import('@cairn/esdb-embedded')).esdbCommand,
  },
  projections: {
    summary: 'projection health and poison events of a running Cairn: status | parked | retry-parked [--projection P] --url URL --key KEY',
    load: async () => (await import('./ops-commands')).projectionsCommand(),
  },
  rebuild: {
    summary: 'rebuild <projection|all> without downtime, with progress [--keep-old] --url URL --key KEY',
    load: async () => (await import('./ops-commands')).rebuildCommand(),
  },
  keys: {
    summary: 'API keys of a running Cairn: list | create --name N --scopes a,b [--expires-at T] | revoke <id> | rotate <id> [--grace S] --url URL --key KEY',
    load: async () => (await import('./ops-commands')).keysCommand(),
  },
  replay: {
    summary: 'replay history into a scratch store: [--projections a,b] [--as-of T] [--known-at K] [--rules FILE] [--out DIR] --url URL --key KEY',
    load: async () => (await import('./ops-commands')).replayCommand(),
  },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(14)} ${c.summary}`);
  return `usage: cairn <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return;
  }
  const command = commands[name];
  if (!command) throw new Error(`unknown command '${name}'\n${usage()}`);
  await (await command.load())(rest);
}
