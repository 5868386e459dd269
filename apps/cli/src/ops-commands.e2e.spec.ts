/**
 * `cairn projections | rebuild | replay | keys | audit | privacy` against an in-process Cairn over HTTP: tables and plain
 * progress lines when not a TTY, a progress bar on a TTY, replay files written byte-identically.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Writable } from 'stream';
import { startCairn, type TestCairn } from '../../../test/support/cairn';
import { main } from './main';
import type { CliIo } from './ops-commands';

function capture(isTTY = false): CliIo & { text: () => string } {
  let text = '';
  const out = Object.assign(
    new Writable({
      write(chunk, _enc, cb) {
        text += chunk.toString();
        cb();
      },
    }),
    { isTTY, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true },
  );
  return { out, pollMs: 20, text: () => text };
}

/** `cairn <argv>` as main() parses it, printing to `io` (no CAIRN_URL/CAIRN_KEY in its environment). */
const cairnCli = (io: CliIo, ...argv: string[]) => main(argv, { ...io, err: io.out, env: {} });

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? listFiles(join(dir, d.name), `${prefix}${d.name}/`) : [`${prefix}${d.name}`])).sort();
}

describe('cairn operations commands', () => {
  let cairn: TestCairn;
  let dir: string;
  const conn = () => ['--url', cairn.url, '--key', cairn.adminKey];

  beforeAll(async () => {
    cairn = await startCairn();
    dir = mkdtempSync(join(tmpdir(), 'cairn-cli-ops-'));
    const events = Array.from({ length: 20 }, (_, i) => ({
      type: 'purchase',
      customerId: `cli-${i % 4}`,
      occurredAt: `2026-06-${String(1 + i).padStart(2, '0')}T10:00:00Z`,
      channel: 'web',
      orderId: `o${i}`,
      currency: 'USD',
      items: [{ productId: 'p', quantity: 1, unitPriceMinor: 1000 + i }],
      totalMinor: 1000 + i,
    }));
    const res = await fetch(`${cairn.url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${cairn.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
    const { position } = await res.json();
    await fetch(`${cairn.url}/v1/customers/cli-0?minPosition=${position.commit}`, { headers: { authorization: `Bearer ${cairn.adminKey}` } });
  });
  afterAll(async () => {
    await cairn?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keys create | list | rotate | revoke: the secret shown once, never listed', async () => {
    const created = capture();
    await cairnCli(created, 'keys', 'create', '--name', 'cli-shop', '--scopes', 'ingest,read', ...conn());
    const id = /^key ([0-9a-f]+) \(cli-shop: ingest,read\)/m.exec(created.text())?.[1];
    const secret = /secret \(shown only this once\): (cairn_\S+)/.exec(created.text())?.[1];
    expect(id).toBeDefined();
    expect(secret).toBeDefined();
    const ping = (key: string) => fetch(`${cairn.url}/v1/projections`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status);
    expect(await ping(secret!)).toBe(200);

    const list = capture();
    await cairnCli(list, 'keys', 'list', ...conn());
    expect(list.text()).toMatch(/^id\s+name\s+scopes\s+state/);
    expect(list.text()).toMatch(new RegExp(`${id}\\s+cli-shop\\s+ingest,read\\s+active`));
    expect(list.text()).toContain('(CAIRN_ADMIN_KEY)');
    expect(list.text()).not.toContain(secret);

    const rotated = capture();
    await cairnCli(rotated, 'keys', 'rotate', id!, '--grace', '600', ...conn());
    const next = /secret \(shown only this once\): (cairn_\S+)/.exec(rotated.text())?.[1];
    expect(rotated.text()).toMatch(new RegExp(`old key ${id} stays valid until \\S+`));
    expect(await ping(next!)).toBe(200);
    expect(await ping(secret!)).toBe(200);

    const newId = /^key ([0-9a-f]+) /m.exec(rotated.text())![1];
    for (const k of [id!, newId]) {
      const revoked = capture();
      await cairnCli(revoked, 'keys', 'revoke', k, ...conn());
      expect(revoked.text()).toMatch(new RegExp(`key ${k} \\(cli-shop\\) revoked at `));
    }
    expect(await ping(secret!)).toBe(401);
    expect(await ping(next!)).toBe(401);
    await expect(cairnCli(capture(), 'keys', 'revoke', 'nope', ...conn())).rejects.toThrow(/404 CAIRN.NOT_FOUND/);
    await expect(cairnCli(capture(), 'keys', 'create', '--name', 'x', '--scopes', 'root', ...conn())).rejects.toThrow(/400 CAIRN.VALIDATION/);
  });

  it('audit: the key actions above, newest first, with the key that did them; pages and filters', async () => {
    const all = capture();
    await cairnCli(all, 'audit', '--all', '--actor', 'CAIRN_ADMIN_KEY', ...conn());
    const lines = all.text().trim().split('\n');
    expect(lines[0]).toMatch(/^at\s+action\s+key\s+outcome\s+targets$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[1])).toEqual(expect.arrayContaining(['api-key.created', 'api-key.rotated', 'api-key.revoked']));
    expect(lines.slice(1).every((l) => l.includes('CAIRN_ADMIN_KEY (config-admin)'))).toBe(true);
    expect(all.text()).toMatch(/api-key\.revoked\s+CAIRN_ADMIN_KEY \(config-admin\)\s+failed 404 CAIRN.NOT_FOUND\s+id=nope/);
    const page = capture();
    await cairnCli(page, 'audit', '--action', 'api-key.revoked', '--limit', '1', ...conn());
    const more = /more: cairn audit --after (\S+)/.exec(page.text());
    expect(more).not.toBeNull();
    const json = capture();
    await cairnCli(json, 'audit', '--action', 'api-key.revoked', '--limit', '1', '--after', more![1]!, '--json', ...conn());
    const parsed = JSON.parse(json.text());
    expect(parsed.entries).toHaveLength(1);
    expect(parsed.entries[0]).toMatchObject({ action: 'api-key.revoked', outcome: 'succeeded', statusCode: 200 });
    await expect(cairnCli(capture(), 'audit', '--action', 'nope', ...conn())).rejects.toThrow(/400 CAIRN.VALIDATION[\s\S]*action:/);
  });

  it('projections status | parked | retry-parked', async () => {
    const status = capture();
    await cairnCli(status, 'projections', 'status', ...conn());
    expect(status.text()).toMatch(/^projection\s+version\s+state/);
    expect(status.text()).toMatch(/\nprofiles\s+v\d+\s+(live|catching-up)\s+\d+/);
    const parked = capture();
    await cairnCli(parked, 'projections', 'parked', ...conn());
    expect(parked.text()).toBe('no parked events\n');
    const retry = capture();
    await cairnCli(retry, 'projections', 'retry-parked', '--projection', 'profiles', ...conn());
    expect(retry.text()).toBe('profiles: 0 retried, 0 still failing\n');
    await expect(cairnCli(capture(), 'projections', 'status', '--url', cairn.url, '--key', 'nope-nope-nope-nope')).rejects.toThrow(/401 CAIRN.UNAUTHENTICATED/);
  });

  it('rebuild <projection>: plain lines off a TTY, a bar on one', async () => {
    const plain = capture(false);
    await cairnCli(plain, 'rebuild', 'profiles', ...conn());
    expect(plain.text()).toMatch(/^rebuild profiles started/);
    expect(plain.text()).toMatch(/rebuild profiles switched: \d+ events\n$/);
    const tty = capture(true);
    await cairnCli(tty, 'rebuild', 'all', '--keep-old', ...conn());
    expect(tty.text()).toMatch(/rebuild all \[.*events \| \d+ ev\/s \| ETA \d/);
    expect(tty.text()).not.toMatch(/ETA (NF|LL|NaN|Inf)/);
    expect(tty.text()).toMatch(/^rebuild all started \(job \S+\)$/m);
    expect(tty.text()).toMatch(/rebuild all switched: \d+ events; old rows kept in /);
    await expect(cairnCli(capture(), 'rebuild', 'nope', ...conn())).rejects.toThrow(/400 CAIRN.VALIDATION unknown projection nope/);
  });

  it('replay --as-of --known-at --rules --out: byte-identical files on a second run', async () => {
    const rules = join(dir, 'rules.json');
    writeFileSync(rules, JSON.stringify({ currency: 'EUR' }));
    const args = (out: string) => ['--projections', 'profiles', '--as-of', '2026-06-10T23:59:59Z', '--known-at', '2099-01-01T00:00:00Z', '--rules', rules, '--out', out, ...conn()];
    const one = capture();
    await cairnCli(one, 'replay', ...args(join(dir, 'one')));
    await cairnCli(capture(), 'replay', ...args(join(dir, 'two')));
    expect(one.text()).toMatch(/replay written to .*one \(\d+ files\)/);
    expect(one.text()).toMatch(/profiles: 4 rows \| what-if: \+0 -0 ~4/);
    const files = listFiles(join(dir, 'one'));
    expect(files).toEqual(expect.arrayContaining(['summary.json', 'baseline/profiles.csv', 'what-if/profiles.json', 'diff/profiles.json']));
    expect(listFiles(join(dir, 'two'))).toEqual(files);
    for (const f of files) expect(readFileSync(join(dir, 'two', f))).toEqual(readFileSync(join(dir, 'one', f)));
    const summary = JSON.parse(readFileSync(join(dir, 'one', 'summary.json'), 'utf8'));
    expect(summary.events.included).toBe(10);
  });

  it('privacy export | erase | erasure: the document decrypted to a 0600 file, then erased, the record shown', async () => {
    const identify = { id: '0a8f0c1e-6d55-4c3b-9a1e-2f0f5b8f0c01', type: 'identify', customerId: 'cli-0', anonymousId: 'cli-v0', occurredAt: '2026-06-01T09:00:00Z', channel: 'web', traits: { email: 'cli-zero@example.test' } };
    const res = await fetch(`${cairn.url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${cairn.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify(identify) });
    const { position } = await res.json();
    await fetch(`${cairn.url}/v1/customers/cli-0?minPosition=${position.commit}`, { headers: { authorization: `Bearer ${cairn.adminKey}` } });
    const file = join(dir, 'export.json');
    await cairnCli(capture(), 'privacy', 'export', 'cli-0', '--out', file, ...conn());
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    expect(doc).toMatchObject({ customerId: 'cli-0', anonymousIds: ['cli-v0'] });
    expect(doc.events.find((e: { type: string }) => e.type === 'cairn.identify.v1').data.traits).toEqual({ email: 'cli-zero@example.test' });
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const erased = capture();
    await cairnCli(erased, 'privacy', 'erase', 'cli-0', '--reason', 'data-subject-request', '--reference', 'T-1', ...conn());
    const id = /^erasure (\S+) at /m.exec(erased.text())?.[1];
    expect(erased.text()).toMatch(/customer ids: cli-0\n\s+anonymous ids: cli-v0\n\s+data keys destroyed: 1 \([0-9a-f]{16}\)/);
    const shown = capture();
    await cairnCli(shown, 'privacy', 'erasure', id!, '--json', ...conn());
    expect(JSON.parse(shown.text())).toMatchObject({ erasureId: id, reason: 'data-subject-request', reference: 'T-1', customerIds: ['cli-0'] });
    const after = capture();
    await cairnCli(after, 'privacy', 'export', 'cli-0', ...conn());
    expect(after.text()).not.toContain('cli-zero@example.test');
    expect(JSON.parse(after.text()).events.find((e: { type: string }) => e.type === 'cairn.identify.v1').erasedFields).toEqual(['traits.email']);
    await expect(cairnCli(capture(), 'privacy', 'erase', 'nobody-here', '--reason', 'other', ...conn())).rejects.toThrow(/404 CAIRN.NOT_FOUND/);
  });
});
