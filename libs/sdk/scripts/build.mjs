#!/usr/bin/env node
/**
 * Builds @cairn/sdk: dist/esm (ES modules, browser-safe), dist/cjs (CommonJS) and dist/types
 * (declarations, including the event catalogue's events.d.ts so the package is self-contained).
 * tsc emits under <out>/sdk/src because rootDir is libs/; the JS is flattened to <out>/ (the type-only
 * import of the catalogue leaves no JS behind), and ESM specifiers get their `.js` extensions.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// `--out <dir>` builds elsewhere (tests build private copies so parallel runs never share dist/).
const outArg = process.argv.indexOf('--out');
const dist = outArg > 0 ? resolve(process.argv[outArg + 1]) : join(root, 'dist');
const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** './x' → './x.js' in static imports/exports and import() types. */
function addJsExtensions(file) {
  const src = readFileSync(file, 'utf8');
  const out = src.replace(/((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]+?)(['"])/g, (m, a, spec, b) =>
    /\.(js|mjs|cjs|json)$/.test(spec) ? m : `${a}${spec}.js${b}`,
  );
  if (out !== src) writeFileSync(file, out);
}

function flatten(out) {
  const nested = join(out, 'sdk', 'src');
  const tmp = `${out}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  cpSync(nested, tmp, { recursive: true });
  rmSync(out, { recursive: true, force: true });
  cpSync(tmp, out, { recursive: true });
  rmSync(tmp, { recursive: true, force: true });
}

rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.esm.json'), '--outDir', join(dist, 'esm'), '--declarationDir', join(dist, 'types')], { stdio: 'inherit', cwd: root });
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.cjs.json'), '--outDir', join(dist, 'cjs')], { stdio: 'inherit', cwd: root });
flatten(join(dist, 'esm'));
flatten(join(dist, 'cjs'));
for (const f of walk(join(dist, 'esm'))) if (f.endsWith('.js')) addJsExtensions(f);
for (const f of walk(join(dist, 'types'))) if (f.endsWith('.d.ts')) addJsExtensions(f);
// The catalogue's runtime half is not needed by consumers: keep only its declarations.
writeFileSync(join(dist, 'esm', 'package.json'), JSON.stringify({ type: 'module', sideEffects: false }, null, 2) + '\n');
writeFileSync(join(dist, 'cjs', 'package.json'), JSON.stringify({ type: 'commonjs' }, null, 2) + '\n');
for (const must of ['esm/index.js', 'cjs/index.js', 'types/sdk/src/index.d.ts', 'types/domain/src/events.d.ts']) {
  if (!existsSync(join(dist, must))) throw new Error(`build: missing dist/${must}`);
}
console.log('@cairn/sdk built: dist/esm, dist/cjs, dist/types');
