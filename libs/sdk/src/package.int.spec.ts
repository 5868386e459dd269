/**
 * Packs @cairn/sdk like a release and type-checks/runs tiny consumers against the tarball only:
 * Node CJS (node16 resolution, no DOM lib), Node ESM, and a browser bundler setup (DOM lib, no Node
 * types), all with skipLibCheck off, so the shipped .d.ts (catalogue included) must be self-contained.
 */
import { execFileSync } from 'child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';

const sdkDir = resolve(__dirname, '..');
const repoRoot = resolve(sdkDir, '../..');
const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');

const consumerTs = `
import { Cairn, CairnValidationError, uuidv7, type PurchaseCall, type DroppedReport, type EventInput } from '@cairn/sdk';
const cairn = new Cairn({ writeKey: 'k', host: 'http://127.0.0.1:1', channel: 'app', flushAt: 5 });
const order: PurchaseCall = { customerId: 'c1', orderId: 'o1', currency: 'EUR', items: [{ productId: 'p', quantity: 1, unitPriceMinor: 100 }], totalMinor: 100 };
const id: string = cairn.purchase(order);
cairn.on('dropped', (d: DroppedReport) => d.reason);
// @ts-expect-error rating must be a number
cairn.review({ customerId: 'c1', productId: 'p', rating: '5' });
// @ts-expect-error referral needs the referrer's customerId
cairn.referral({ referralCode: 'R' });
// @ts-expect-error unknown channel
cairn.view({ customerId: 'c1', productId: 'p', channel: 'tv' });
const e: EventInput = { type: 'view', customerId: 'c', productId: 'p', occurredAt: '2026-11-28T10:00:00Z', channel: 'web' };
export const out = [id, e, uuidv7(), CairnValidationError];
`;

describe('@cairn/sdk package', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'cairn-sdk-pack-'));
    execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: sdkDir, stdio: 'pipe' });
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'))!;
    // Installed the way the SDK's README says: npm install <the tarball> (no registry involved).
    writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'sdk-consumer', private: true }));
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--silent', `./${tarball}`], { cwd: work, stdio: 'pipe' });
  }, 120_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('ships only the builds, the declarations (with the catalogue) and the README', () => {
    const files = execFileSync('tar', ['-tzf', join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((f) => f.replace(/^package\//, ''))
      .sort();
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/esm/index.js', 'dist/cjs/index.js', 'dist/types/sdk/src/index.d.ts', 'dist/types/domain/src/events.d.ts']));
    expect(files.filter((f) => /(^src\/|\.spec\.|testing\/|\.ts$)/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => f.startsWith('dist/esm/domain') || f.startsWith('dist/cjs/domain'))).toEqual([]);
  });

  function typecheck(name: string, file: string, source: string, compilerOptions: object): void {
    const dir = join(work, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, file), source);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, ...(file.endsWith('.mts') ? {} : {}) }));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, typeRoots: [join(repoRoot, 'node_modules/@types')], ...compilerOptions }, files: [file] }));
    // consumers resolve @cairn/sdk from work/node_modules (the unpacked tarball) only
    try {
      execFileSync(process.execPath, [tsc, '-p', dir], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      throw new Error(`${name}: tsc failed\n${(err as { stdout?: string }).stdout}`);
    }
  }

  it('type-checks a Node CommonJS consumer (node16, no DOM lib)', () => {
    typecheck('node-cjs', 'consumer.ts', consumerTs, { module: 'node16', moduleResolution: 'node16', target: 'ES2022', lib: ['ES2022'], types: ['node'] });
  }, 60_000);

  it('type-checks a Node ESM consumer (node16, .mts)', () => {
    typecheck('node-esm', 'consumer.mts', consumerTs, { module: 'node16', moduleResolution: 'node16', target: 'ES2022', lib: ['ES2022'], types: ['node'] });
  }, 60_000);

  it('type-checks a browser consumer (bundler resolution, DOM lib, no Node types)', () => {
    typecheck('browser', 'consumer.ts', consumerTs, { module: 'ESNext', moduleResolution: 'bundler', target: 'ES2020', lib: ['ES2020', 'DOM'], types: [] });
  }, 60_000);

  it('runs from require() and import()', () => {
    const code = (load: string): string =>
      `${load}.then((m) => { const c = new m.Cairn({ writeKey: 'k', host: 'http://127.0.0.1:1', channel: 'web' }); const id = c.view({ customerId: 'c', productId: 'p' }); if (!/^[0-9a-f-]{36}$/.test(id)) throw new Error(id); return c.closeAndFlush({ timeoutMs: 10 }); }).then((s) => console.log(JSON.stringify(s)))`;
    const cjs = execFileSync(process.execPath, ['-e', code(`Promise.resolve(require('@cairn/sdk'))`)], { cwd: work, encoding: 'utf8' });
    const esm = execFileSync(process.execPath, ['--input-type=module', '-e', code(`import('@cairn/sdk')`)], { cwd: work, encoding: 'utf8' });
    expect(JSON.parse(cjs)).toMatchObject({ dropped: 1 });
    expect(JSON.parse(esm)).toMatchObject({ dropped: 1 });
  }, 30_000);
});
