/**
 * JSON Schemas of the event DTOs, generated from their class-validator decorators by
 * class-validator-jsonschema (which reads class-validator's metadata storage, and class-transformer's
 * `@Type` for nested classes). The DTOs stay the declared contract: nothing here restates a bound.
 *
 * What the library does not do on its own, and is done here, in the open:
 * - `IsISO4217CurrencyCode` has no default converter: it becomes the enum of the upper-case codes
 *   class-validator's own check accepts (enumerated once through that check, so the list cannot drift).
 * - It merges each decorator's fragment with lodash.merge, so `@IsInt() @Min() @Max()` ends as
 *   `type: number` (Max's fragment wins). Min/Max therefore add only their bound, and a property with
 *   a numeric bound and no type gets `number` afterwards; IsInt's `integer` survives.
 * - The validation options parseEvent uses (`whitelist` + `forbidNonWhitelisted`) become
 *   `additionalProperties: false` on every DTO schema.
 * - Each event schema's `type` is the one kind that selects it (the dispatch, not a new rule).
 * Rules a schema cannot say (sums, cross-field rules, real calendar dates, small objects) are the
 * post-checks in record-events.request.dto.ts, shared by both validation paths.
 */
import { isISO4217CurrencyCode, IS_ISO4217_CURRENCY_CODE, MAX, MIN, ValidationTypes } from 'class-validator';
import { targetConstructorToSchema } from 'class-validator-jsonschema';
import type { IOptions } from 'class-validator-jsonschema/build/options';

/** class-transformer's storage of `@Type` (the package ships it untyped at this path). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const typeMetadataStorage = (require('class-transformer/cjs/storage') as typeof import('class-transformer/types/storage')).defaultMetadataStorage;

/** What the generator returns (openapi3-ts's SchemaObject, named through the generator's own signature). */
type SchemaObject = ReturnType<typeof targetConstructorToSchema>;

export type JsonSchema = Record<string, unknown>;

/** Every code `isISO4217CurrencyCode` accepts, in the upper case the DTOs also demand. */
function upperCaseCurrencyCodes(): string[] {
  const out: string[] = [];
  const A = 'A'.charCodeAt(0);
  for (let i = 0; i < 26 * 26 * 26; i++) {
    const code = String.fromCharCode(A + Math.floor(i / 676), A + (Math.floor(i / 26) % 26), A + (i % 26));
    if (isISO4217CurrencyCode(code)) out.push(code);
  }
  return out;
}

const REF_PREFIX = '#/definitions/';

function options(): Partial<IOptions> {
  const codes = upperCaseCurrencyCodes();
  return {
    refPointerPrefix: REF_PREFIX,
    classTransformerMetadataStorage: typeMetadataStorage,
    additionalConverters: {
      [IS_ISO4217_CURRENCY_CODE]: { type: 'string', enum: codes },
      [MIN]: (meta) => ({ minimum: meta.constraints[0] as number }),
      [MAX]: (meta) => ({ maximum: meta.constraints[0] as number }),
      // Whitelisting marks a property as known; it adds no constraint.
      [ValidationTypes.WHITELIST]: {},
    },
  };
}

function finish(schema: SchemaObject): JsonSchema {
  const props = (schema.properties ?? {}) as Record<string, SchemaObject>;
  for (const p of Object.values(props)) {
    if (p.type === undefined && (p.minimum !== undefined || p.maximum !== undefined)) p.type = 'number';
  }
  return { ...schema, additionalProperties: false } as JsonSchema;
}

/** The classes a DTO's schema refers to through `$ref` (its nested DTOs), found by walking it. */
function refsOf(schema: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(schema)) for (const s of schema) refsOf(s, into);
  else if (schema !== null && typeof schema === 'object') {
    for (const [k, v] of Object.entries(schema)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith(REF_PREFIX)) into.add(v.slice(REF_PREFIX.length));
      else refsOf(v, into);
    }
  }
  return into;
}

export interface EventSchemas<K extends string> {
  /** One schema per DTO class name (event DTOs and the nested item DTOs), `$ref`s as `#/definitions/<name>`. */
  definitions: Record<string, JsonSchema>;
  /** The definition name of each kind's event DTO. */
  byKind: Record<K, string>;
}

/**
 * Generates the schemas of the given event DTOs (by kind) and of every class they nest, read from
 * the decorators. `nested` lists the classes a `@Type` may point to (they are looked up by name).
 */
export function generateEventSchemas<K extends string>(dtoByKind: Record<K, new () => object>, nested: readonly (new () => object)[]): EventSchemas<K> {
  const opts = options();
  const definitions: Record<string, JsonSchema> = {};
  const byKind = {} as Record<K, string>;
  const classes = new Map<string, new () => object>(nested.map((c) => [c.name, c]));
  const pending: (new () => object)[] = [];
  for (const [kind, cls] of Object.entries(dtoByKind) as [K, new () => object][]) {
    const schema = finish(targetConstructorToSchema(cls, opts));
    const props = schema.properties as Record<string, SchemaObject>;
    props.type = { ...props.type, enum: [kind] };
    definitions[cls.name] = schema;
    byKind[kind] = cls.name;
    for (const name of refsOf(schema, new Set())) if (!definitions[name]) pending.push(classes.get(name) ?? missing(name));
  }
  while (pending.length > 0) {
    const cls = pending.pop()!;
    if (definitions[cls.name]) continue;
    const schema = finish(targetConstructorToSchema(cls, opts));
    definitions[cls.name] = schema;
    for (const name of refsOf(schema, new Set())) if (!definitions[name]) pending.push(classes.get(name) ?? missing(name));
  }
  return { definitions, byKind };
}

function missing(name: string): never {
  throw new Error(`event schema refers to ${name}, which is not among the nested DTO classes`);
}

/** The same schemas as OpenAPI components (`$ref`s rewritten to `#/components/schemas/`). */
export function asOpenApiComponents(definitions: Record<string, JsonSchema>): Record<string, SchemaObject> {
  const text = JSON.stringify(definitions).split(`"${REF_PREFIX}`).join('"#/components/schemas/');
  return JSON.parse(text) as Record<string, SchemaObject>;
}
