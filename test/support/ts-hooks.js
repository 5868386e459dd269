'use strict';
/**
 * Lets Node require Cairn's TypeScript sources directly (for specs that run real processes and
 * threads without a build step): each .ts file is transpiled on require with the project's
 * compiler options (legacy decorators with metadata, as Nest needs); the @cairn/* aliases resolve
 * to the sources. No type check here: ts-jest covers that. Used by run-cairn-from-source.js and
 * by the projector thread when Cairn itself runs from the sources.
 */
const crypto = require('crypto');
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

// Transpiled output is cached by content, so the many processes and threads specs start (each
// loading the whole app) transpile a file once, not once each: on a busy 2-core machine that is the
// difference between a start in seconds and one in a minute.
const cacheDir = path.join(root, 'node_modules', '.cache', 'cairn-ts-hooks');
const salt = `${ts.version}:${JSON.stringify(options)}`;

function transpile(filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const key = crypto.createHash('sha1').update(salt).update('\0').update(filename).update('\0').update(source).digest('hex');
  const cached = path.join(cacheDir, `${key}.js`);
  try {
    return fs.readFileSync(cached, 'utf8');
  } catch {
    // not cached yet
  }
  const { outputText } = ts.transpileModule(source, { fileName: filename, compilerOptions: options });
  try {
    fs.mkdirSync(cacheDir, { recursive: true });
    const tmp = `${cached}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    fs.writeFileSync(tmp, outputText);
    fs.renameSync(tmp, cached); // atomic: a concurrent reader sees all of it or nothing
  } catch {
    // a read-only tree: transpile every time
  }
  return outputText;
}

if (!require.extensions['.ts']) {
  require.extensions['.ts'] = (module, filename) => module._compile(transpile(filename), filename);
  require('tsconfig-paths').register({ baseUrl: root, paths: compilerOptions.paths });
  require('reflect-metadata');
}

module.exports = { root };
