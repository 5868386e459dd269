#!/usr/bin/env node
'use strict';
/**
 * `npm start`'s build step: runs `tsc -p tsconfig.build.json`, then the console's build (its type
 * check and `vite build` into dist/console-web), only when a source (a .ts/.tsx/.css/.html file, a
 * folder — a file added or removed — or a tsconfig / package.json) is newer than the last build's
 * stamp, so a start with nothing changed costs a directory walk, not a compile. `--force` (what
 * `npm run build` runs) compiles whatever the stamp says.
 */
const { spawnSync } = require('child_process');
const { existsSync, readdirSync, statSync, writeFileSync } = require('fs');
const { dirname, join } = require('path');

const root = join(__dirname, '..');
const stamp = join(root, 'dist', '.build-stamp');

function newest(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return /\.(ts|tsx|json|css|html|mjs)$/.test(path) ? st.mtimeMs : 0;
  let t = st.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    t = Math.max(t, newest(join(path, entry)));
  }
  return t;
}

const sources = ['apps', 'libs', 'bench', 'console', 'tsconfig.json', 'tsconfig.build.json', 'package.json'].map((p) => join(root, p)).filter(existsSync);
const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
const force = process.argv.includes('--force');
if (force || (sources.length > 0 && Math.max(...sources.map(newest)) > built)) {
  if (!force) process.stderr.write('cairn: sources changed since the last build: compiling (tsc -p tsconfig.build.json)\n');
  const started = Date.now();
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
  // The console (served at /console): type-checked, then bundled by Vite.
  for (const args of [[require.resolve('typescript/bin/tsc'), '-p', join(root, 'console', 'tsconfig.json')], [join(dirname(require.resolve('vite/package.json')), 'bin', 'vite.js'), 'build', '--config', join(root, 'console', 'vite.config.mjs'), '--logLevel', 'warn']]) {
    const step = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
    if (step.status !== 0) process.exit(step.status ?? 1);
  }
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
  if (!force) process.stderr.write(`cairn: built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
