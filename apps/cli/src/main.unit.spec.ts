/**
 * The command line as a user meets it: --help on every command and subcommand (exit 0, every option
 * named), --version, usage errors with exit code 2, and --url/--key from CAIRN_URL/CAIRN_KEY.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { Writable } from 'stream';
import type { Command } from 'commander';
import { main, program, type MainIo } from './main';

function capture(env: NodeJS.ProcessEnv = {}): MainIo & { text: () => string } {
  let text = '';
  const out = new Writable({
    write(chunk, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { out, err: out, env, text: () => text };
}

/** Every command path of the program: ['start'], ['keys', 'create'], … */
function paths(cmd: Command, prefix: string[] = []): { path: string[]; cmd: Command }[] {
  return cmd.commands.flatMap((c) => [{ path: [...prefix, c.name()], cmd: c }, ...paths(c, [...prefix, c.name()])]);
}

describe('cairn command line', () => {
  afterEach(() => {
    process.exitCode = undefined;
  });

  const all = paths(program(capture()));

  it('has the commands the README documents', () => {
    const names = all.map((p) => p.path.join(' '));
    for (const n of ['start', 'api', 'projector', 'esdb', 'import', 'import cdnow', 'clv fit', 'projections status', 'projections parked', 'projections retry-parked', 'rebuild', 'replay', 'keys list', 'keys create', 'keys revoke', 'keys rotate', 'audit']) {
      expect(names).toContain(n);
    }
  });

  it.each(all.map((p) => [p.path.join(' '), p] as const))('cairn %s --help: exit 0, every option and argument named', async (_name, { path, cmd }) => {
    const io = capture();
    await main([...path, '--help'], io);
    expect(process.exitCode ?? 0).toBe(0);
    expect(io.text()).toContain(`Usage: cairn ${path.join(' ')}`);
    for (const o of cmd.options) expect(io.text()).toContain(o.long!);
    for (const a of cmd.registeredArguments) expect(io.text()).toContain(a.name());
  });

  it('cairn --help lists every command and the options of start', async () => {
    const io = capture();
    await main(['--help'], io);
    for (const c of program(capture()).commands) expect(io.text()).toContain(c.name());
    for (const flag of ['--port', '--data-dir', '--esdb-port', '--event-store', '--read-model']) expect(io.text()).toContain(flag);
  });

  it('--version prints the version in package.json', async () => {
    const io = capture();
    await main(['--version'], io);
    const { version } = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8'));
    expect(io.text().trim()).toBe(version);
  });

  it('an unknown option or command is a usage error (exit 2) naming it', async () => {
    for (const argv of [['start', '--bogus'], ['nope'], ['keys', 'create', '--name', 'x'], ['esdb', '--memory', '--data-dir', 'x'], ['esdb', '--port', 'eighty']]) {
      const io = capture();
      await main(argv, io);
      expect(process.exitCode).toBe(2);
      expect(io.text()).toMatch(/error: (unknown option '--bogus'|unknown command 'nope'|required option '--scopes <a,b>' not specified|option '--data-dir <dir>' cannot be used with option '--memory'|option '--port <n>' argument 'eighty' is invalid)/);
      process.exitCode = undefined;
    }
  });

  it('client commands without a key, or with a bad CAIRN_URL, say which setting to fix', async () => {
    await expect(main(['keys', 'list'], capture())).rejects.toThrow(/no API key: pass --key or set CAIRN_KEY/);
    await expect(main(['keys', 'list'], capture({ CAIRN_URL: 'ftp://x', CAIRN_KEY: 'k' }))).rejects.toThrow(/CAIRN_URL: .*ftp:\/\/ is not served/);
    await expect(main(['keys', 'list', '--url', '3000', '--key', 'k'], capture())).rejects.toThrow(/--url: .*localhost:3000\?/);
  });
});
