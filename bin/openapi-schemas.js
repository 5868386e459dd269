#!/usr/bin/env node
'use strict';
/**
 * Generates the OpenAPI response schemas from the TypeScript types the controllers return (the
 * `CairnSchemas` interface of apps/api/src/openapi/schemas.ts) with typescript-json-schema,
 * as OpenAPI 3.0 components, into apps/api/src/openapi/schemas.json (committed: the
 * server reads it at start, without TypeScript). `npm run openapi:schemas` after changing a type;
 * openapi.e2e.spec.ts fails while the file is not current.
 */
const { writeFileSync } = require('fs');
const { join } = require('path');

const root = join(__dirname, '..');
const OUT = join(root, 'apps/api/src/openapi/schemas.json');
const REGISTRY = 'CairnSchemas';

/** `Record%3Cstring%2Cnumber%3E` → `Record_string_number_`: a component name OpenAPI tools accept. */
const componentName = (name) => decodeURIComponent(name).replace(/[^A-Za-z0-9_.-]+/g, '_');

/** JSON Schema draft 7 (typescript-json-schema) → OpenAPI 3.0 schema objects. */
function toOpenApi(node) {
  if (Array.isArray(node)) return node.map(toOpenApi);
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === '$schema') continue;
    if (k === '$ref') out.$ref = `#/components/schemas/${componentName(v.replace('#/definitions/', ''))}`;
    else if (k === 'const') out.enum = [v];
    else out[k] = toOpenApi(v);
  }
  // A primitive never has properties (typescript-json-schema adds an empty set to branded numbers).
  if (out.type !== undefined && out.type !== 'object' && !(Array.isArray(out.type) && out.type.includes('object'))) {
    delete out.properties;
    delete out.additionalProperties;
  }
  if (Array.isArray(out.type)) {
    const types = out.type.filter((t) => t !== 'null');
    if (types.length < out.type.length) out.nullable = true;
    if (types.length === 1) out.type = types[0];
    else {
      delete out.type;
      out.anyOf = types.map((type) => ({ type }));
    }
  }
  for (const key of ['anyOf', 'oneOf']) {
    if (!out[key]) continue;
    const rest = out[key].filter((s) => s.type !== 'null');
    if (rest.length === out[key].length) continue;
    out.nullable = true;
    if (rest.length === 1) {
      delete out[key];
      if (rest[0].$ref) out.allOf = [rest[0]];
      else Object.assign(out, rest[0]);
    } else out[key] = rest;
  }
  return out;
}

function generate() {
  const TJS = require('typescript-json-schema');
  // It reports every inferred (not annotated) property on the console; the schema is the same.
  const { log, warn } = console;
  console.log = console.warn = () => {};
  try {
    return generateQuietly(TJS);
  } finally {
    Object.assign(console, { log, warn });
  }
}

function generateQuietly(TJS) {
  // Only schemas.ts and what it imports, without a type check of its own (the build has one): seconds, not half a minute.
  const program = TJS.programFromConfig(join(root, 'tsconfig.build.json'), [join(root, 'apps/api/src/openapi/schemas.ts')]);
  const generator = TJS.buildGenerator(program, { required: true, ref: true, topRef: false, strictNullChecks: true, ignoreErrors: true });
  if (!generator) throw new Error('typescript-json-schema could not build a generator (type errors?)');
  const [symbol, ...more] = generator.getSymbols(REGISTRY);
  if (!symbol || more.length > 0) throw new Error(`expected one ${REGISTRY} interface, found ${more.length + (symbol ? 1 : 0)}`);
  const schema = generator.getSchemaForSymbol(symbol.name, true);
  const schemas = {};
  for (const [name, s] of Object.entries(schema.definitions ?? {})) schemas[componentName(name)] = toOpenApi(s);
  for (const [name, s] of Object.entries(schema.properties)) {
    const converted = toOpenApi(s);
    // `Adjusted: Adjusted` is the definition itself, not an alias of it.
    if (converted.$ref !== `#/components/schemas/${name}`) schemas[name] = converted;
  }
  const sorted = Object.fromEntries(Object.keys(schemas).sort().map((k) => [k, schemas[k]]));
  return { named: Object.keys(schema.properties).sort(), schemas: sorted };
}

module.exports = { generate, OUT };

if (require.main === module) {
  const doc = generate();
  writeFileSync(OUT, `${JSON.stringify(doc, null, 2)}\n`);
  process.stdout.write(`${doc.named.length} named schemas (${Object.keys(doc.schemas).length} components) → ${OUT}\n`);
}
