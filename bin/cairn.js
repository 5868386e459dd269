#!/usr/bin/env node
'use strict';
require('./paths');
require('reflect-metadata');
const { main } = require('../dist/apps/cli/src/main');
main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`cairn: ${err && err.message ? err.message : String(err)}\n`);
  process.exit(1);
});
