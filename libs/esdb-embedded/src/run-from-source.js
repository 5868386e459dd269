'use strict';
/**
 * Test helper: runs `cairn esdb` (esdbCommand) straight from the TypeScript sources in a child process, so the
 * durability and CLI specs need neither a build nor ts-node/tsx (neither is installed). Each .ts file is
 * transpiled on require with typescript.transpileModule (no type check: jest's ts-jest already covers that).
 * Usage: node run-from-source.js [cairn esdb flags...]
 */
const fs = require('fs');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  module._compile(outputText, filename);
};

require('./cli.ts')
  .esdbCommand(process.argv.slice(2))
  .catch((err) => {
    process.stderr.write(`cairn esdb: ${err && err.message ? err.message : String(err)}\n`);
    process.exit(1);
  });
