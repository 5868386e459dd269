#!/usr/bin/env node
'use strict';
// `npm run bench [-- name ...]`: runs bench/<name>.bench.ts (compiled to dist/bench) and prints each
// suite's table; results are saved as JSON under .bench/.
require('./paths');
require('reflect-metadata');
const { runBenchmarks } = require('../dist/bench/harness');
runBenchmarks(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`bench: ${err && err.stack ? err.stack : String(err)}\n`);
  process.exit(1);
});
