'use strict';
/**
 * Lets Node require Cairn's TypeScript sources directly (for specs that run real processes and
 * threads without a build step): each .ts file is transpiled on require with the project's
 * compiler options (legacy decorators with metadata, as Nest needs); the @cairn/* aliases resolve
 * to the sources. No type check here: ts-jest covers that. Used by run-cairn-from-source.js and
 * by the projector thread when Cairn itself runs from the sources.
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

if (!require.extensions['.ts']) {
  require.extensions['.ts'] = (module, filename) => {
    const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), { fileName: filename, compilerOptions: options });
    module._compile(outputText, filename);
  };
  require('tsconfig-paths').register({ baseUrl: root, paths: compilerOptions.paths });
  require('reflect-metadata');
}

module.exports = { root };
