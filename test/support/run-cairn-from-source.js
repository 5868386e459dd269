'use strict';
/**
 * Runs `cairn <command>` straight from the TypeScript sources in a child process, for specs that
 * need a real separate process (kill -9, signals) without a build step (see ts-hooks.js).
 * Usage: node test/support/run-cairn-from-source.js <command> [flags...]
 */
const path = require('path');
const { root } = require('./ts-hooks');

require(path.join(root, 'apps/cli/src/main.ts'))
  .main(process.argv.slice(2))
  .catch((err) => {
    process.stderr.write(`cairn: ${err && err.message ? err.message : String(err)}\n`);
    process.exit(1);
  });
