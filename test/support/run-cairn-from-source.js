'use strict';
/**
 * Runs `cairn <command>` straight from the TypeScript sources in a child process, for specs that
 * need a real separate process (kill -9, signals) without a build step. Each .ts file is transpiled
 * on require with the project's compiler options (legacy decorators with metadata, as Nest needs);
 * the @cairn/* aliases resolve to the sources. No type check here: ts-jest covers that.
 * Usage: node test/support/run-cairn-from-source.js <command> [flags...]
 */
const fs = require('fs');
const path = require('path');
const ts = require('typescript');

const root = path.join(__dirname, '..', '..');
const { compilerOptions } = require(path.join(root, 'tsconfig.json'));
const options = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
};

require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), { fileName: filename, compilerOptions: options });
  module._compile(outputText, filename);
};
require('tsconfig-paths').register({ baseUrl: root, paths: compilerOptions.paths });
require('reflect-metadata');

require(path.join(root, 'apps/cli/src/main.ts'))
  .main(process.argv.slice(2))
  .catch((err) => {
    process.stderr.write(`cairn: ${err && err.message ? err.message : String(err)}\n`);
    process.exit(1);
  });
