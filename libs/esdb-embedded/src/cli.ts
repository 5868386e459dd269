/**
 * `cairn esdb --port 2113 [--data-dir DIR | --memory] [--insecure | --cert F --key F] [--max-append-size N]`
 * Runs the embedded node on its own: prints the connection string once it is ready and shuts down cleanly on
 * SIGTERM/SIGINT. Bad flags → a clear message on stderr and exit code 2.
 */
import { startEmbeddedNode, type EmbeddedNodeOptions } from './server';

export const USAGE = `usage: cairn esdb [--port N] [--host H] [--data-dir DIR | --memory] [--insecure | --cert FILE --key FILE [--users-file FILE]] [--max-append-size BYTES]
  --port N             port to listen on (default 2113, 0 = ephemeral)
  --host H             address to bind (default 127.0.0.1)
  --data-dir DIR       keep the log in DIR (SQLite); default ./data/eventstore (cairn start's layout)
  --memory             keep the log in memory only
  --insecure           plain-text gRPC, no authentication, no ACLs (default)
  --cert F --key F     serve TLS with this PEM certificate and key; users, passwords and ACLs are enforced
  --users-file F       users besides admin/ops (password changeit): {"users":[{"name","password","groups"}]}
  --max-append-size B  largest accepted append in bytes (default 1048576)
`;

export class UsageError extends Error {}

export function parseEsdbArgs(args: string[]): EmbeddedNodeOptions {
  const opts: EmbeddedNodeOptions = { port: 2113 };
  let memory = false;
  let insecure = false;
  let cert: string | undefined;
  let key: string | undefined;
  let dataDir: string | undefined;
  const value = (i: number, flag: string): string => {
    const v = args[i + 1];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  const int = (text: string, flag: string, min: number, max: number): number => {
    if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got '${text}'`);
    return Number(text);
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    switch (a) {
      case '--port':
        opts.port = int(value(i, a), a, 0, 65535);
        i++;
        break;
      case '--host':
        opts.host = value(i, a);
        i++;
        break;
      case '--data-dir':
        dataDir = value(i, a);
        i++;
        break;
      case '--memory':
        memory = true;
        break;
      case '--insecure':
        insecure = true;
        break;
      case '--cert':
        cert = value(i, a);
        i++;
        break;
      case '--key':
        key = value(i, a);
        i++;
        break;
      case '--users-file':
        opts.usersFile = value(i, a);
        i++;
        break;
      case '--max-append-size':
        opts.maxAppendSize = int(value(i, a), a, 1, 16 * 1024 * 1024);
        i++;
        break;
      default:
        throw new UsageError(`unknown option '${a}'`);
    }
  }
  if (memory && dataDir !== undefined) throw new UsageError('--memory and --data-dir exclude each other');
  if (insecure && (cert !== undefined || key !== undefined)) throw new UsageError('--insecure and --cert/--key exclude each other');
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--cert and --key go together');
  if (cert !== undefined && key !== undefined) opts.tls = { certFile: cert, keyFile: key };
  if (opts.usersFile !== undefined && opts.tls === undefined) throw new UsageError('--users-file needs --cert/--key (without TLS the node is insecure and has no users)');
  if (!memory) opts.dataDir = dataDir ?? 'data/eventstore';
  return opts;
}

export async function esdbCommand(args: string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  let options: EmbeddedNodeOptions;
  try {
    options = parseEsdbArgs(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`cairn esdb: ${err.message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  await serveEmbeddedNode(options);
}

/** Runs the node until SIGTERM/SIGINT, printing its connection string once it is ready. */
export async function serveEmbeddedNode(options: EmbeddedNodeOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const node = await startEmbeddedNode(options);
  if (!node.secure) {
    process.stderr.write('cairn esdb: running INSECURE: no TLS, no authentication, no ACLs; every client may read, write and delete everything (use --cert/--key for users and ACLs)\n');
  }
  out.write(`${node.connectionString}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      node.close().then(resolve, resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
