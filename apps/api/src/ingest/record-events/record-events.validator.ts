/**
 * The hot-path validator: the JSON Schemas generated from the event DTOs (record-events.schema.ts),
 * compiled once by ajv. Its errors are the same shape as the class-validator path's: a field path
 * (`items[0].quantity`) and a reason, the reason taken from the DTO's own decorator (its custom
 * message, or class-validator's default message for that constraint), so both paths speak alike.
 *
 * Where ajv's built-ins and class-validator disagree, ajv is told class-validator's rule:
 * - `format: uuid` is class-validator's `isUUID(v, 'all')` (ajv-formats' uuid also takes a
 *   `urn:uuid:` prefix and any version/variant digit, which IsUUID('all') refuses; so ajv-formats is
 *   not used at all);
 * - `minLength`/`maxLength` count as class-validator's `minLength`/`maxLength` do (validator.js:
 *   a surrogate pair is one character, a U+FE0E/U+FE0F variation selector none);
 * - patterns are compiled without the `u` flag, as the DTOs' RegExps are.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { getMetadataStorage, isUUID, maxLength, minLength, type ValidationArguments } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';
import type { FieldError } from '@cairn/domain';
import { typeMetadataStorage, type EventSchemas } from './record-events.schema';

/** Joins a parent path and a property the way the error paths read: `items[0].quantity`. */
export function joinPath(prefix: string, property: string): string {
  if (/^\d+$/.test(property)) return `${prefix}[${property}]`;
  return prefix && property ? `${prefix}.${property}` : prefix || property;
}

/** Which class-validator constraints an ajv keyword stands for (the first one present gives the reason). */
const CONSTRAINTS_OF: Record<string, readonly string[]> = {
  pattern: ['matches'],
  minimum: ['min'],
  maximum: ['max'],
  enum: ['isIn', 'isISO4217CurrencyCode'],
  format: ['isUuid'],
  minLength: ['isLength', 'minLength'],
  maxLength: ['isLength', 'maxLength'],
  minItems: ['arrayMinSize'],
  maxItems: ['arrayMaxSize'],
};
const CONSTRAINTS_OF_TYPE: Record<string, readonly string[]> = {
  integer: ['isInt'],
  number: ['isInt', 'isNumber', 'min', 'max'],
  string: ['isString', 'matches', 'isUuid', 'isIn', 'isISO4217CurrencyCode', 'isLength', 'maxLength', 'minLength'],
  object: ['isObject', 'nestedValidation'],
  array: ['arrayMinSize', 'arrayMaxSize', 'nestedValidation'],
};

type Dto = new () => object;

/** The reason class-validator would give for `meta` failing on `property` of `cls`. */
function reason(meta: ValidationMetadata, cls: Dto, property: string, value: unknown): string {
  const args: ValidationArguments = { value, constraints: meta.constraints ?? [], targetName: cls.name, object: {}, property };
  let message: unknown = meta.message;
  if (message === undefined || message === '') {
    const constraint = getMetadataStorage().getTargetValidatorConstraints(meta.constraintCls)[0];
    message = constraint?.instance?.defaultMessage?.(args);
  }
  const text = typeof message === 'function' ? (message as (a: ValidationArguments) => string)(args) : String(message ?? `${property} is invalid`);
  return text
    .replace(/\$constraint(\d+)/g, (_, n: string) => String(args.constraints[Number(n) - 1]))
    .replace(/\$property/g, property)
    .replace(/\$target/g, cls.name)
    .replace(/\$value/g, String(value));
}

function constraintName(meta: ValidationMetadata): string {
  if (meta.constraintCls) {
    const c = getMetadataStorage().getTargetValidatorConstraints(meta.constraintCls)[0];
    if (c?.name) return c.name;
  }
  return meta.name ?? meta.type;
}

/** The nested DTO class of `cls.property` (class-transformer's `@Type`), if any. */
function nestedClass(cls: Dto, property: string): Dto | undefined {
  const t = typeMetadataStorage.findTypeMetadata(cls, property);
  return t?.typeFunction() as Dto | undefined;
}

function decode(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

export type CompiledEventValidator<K extends string> = (kind: K, obj: Record<string, unknown>) => FieldError[];

/** Compiles every kind's schema once; the returned function reports an event's field errors. */
export function compileEventValidator<K extends string>(schemas: EventSchemas<K>, dtoByKind: Record<K, Dto>): CompiledEventValidator<K> {
  const ajv = new Ajv({ allErrors: true, strict: true, unicodeRegExp: false, messages: false });
  ajv.addFormat('uuid', { type: 'string', validate: (s: string) => isUUID(s, 'all') });
  ajv.removeKeyword('minLength');
  ajv.removeKeyword('maxLength');
  ajv.addKeyword({ keyword: 'minLength', type: 'string', schemaType: 'number', errors: false, validate: (min: number, s: string) => minLength(s, min) });
  ajv.addKeyword({ keyword: 'maxLength', type: 'string', schemaType: 'number', errors: false, validate: (max: number, s: string) => maxLength(s, max) });
  for (const [name, schema] of Object.entries(schemas.definitions)) ajv.addSchema(schema, `#/definitions/${name}`);
  const storage = getMetadataStorage();
  const metasCache = new Map<Dto, ValidationMetadata[]>();
  const metasOf = (cls: Dto) => {
    let m = metasCache.get(cls);
    if (!m) metasCache.set(cls, (m = storage.getTargetValidationMetadatas(cls, '', true, false)));
    return m;
  };

  const validators = {} as Record<K, ValidateFunction>;
  for (const kind of Object.keys(schemas.byKind) as K[]) {
    validators[kind] = ajv.compile({ $ref: `#/definitions/${schemas.byKind[kind]}` });
  }

  /** One ajv error as a field error: its path, and the reason from the DTO's decorator. */
  function toFieldError(kind: K, obj: Record<string, unknown>, e: ErrorObject): FieldError {
    const segments = e.instancePath === '' ? [] : e.instancePath.slice(1).split('/').map(decode);
    let field = '';
    let value: unknown = obj;
    let cls: Dto | undefined = dtoByKind[kind]; // the DTO of the object at the current path, if it is one
    let elementOf: Dto | undefined; // set while the current value is an array of nested DTOs
    let owner: Dto | undefined; // the DTO declaring the last property on the path
    let property = '';
    let atElement = false;
    for (const seg of segments) {
      field = joinPath(field, seg);
      value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[seg] : undefined;
      if (elementOf !== undefined) {
        cls = elementOf;
        elementOf = undefined;
        atElement = true;
        continue;
      }
      atElement = false;
      owner = cls;
      property = seg;
      const nested: Dto | undefined = cls ? nestedClass(cls, seg) : undefined;
      cls = Array.isArray(value) ? undefined : nested;
      elementOf = Array.isArray(value) ? nested : undefined;
    }
    if (e.keyword === 'additionalProperties') {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      return { field: joinPath(field, key), message: `property ${key} should not exist` };
    }
    if (e.keyword === 'required') {
      const key = String((e.params as { missingProperty: string }).missingProperty);
      const metas = cls ? metasOf(cls).filter((m) => m.propertyName === key && m.type !== 'conditionalValidation') : [];
      return { field: joinPath(field, key), message: metas[0] && cls ? reason(metas[0], cls, key, undefined) : `${key} is required` };
    }
    // An element of an array of nested DTOs that is not an object.
    if (atElement && e.keyword === 'type') {
      return { field, message: 'each item must be an object' };
    }
    const candidates = e.keyword === 'type' ? (CONSTRAINTS_OF_TYPE[String((e.params as { type: string }).type)] ?? []) : (CONSTRAINTS_OF[e.keyword] ?? []);
    const metas = owner ? metasOf(owner).filter((m) => m.propertyName === property) : [];
    const meta = candidates.map((c) => metas.find((m) => constraintName(m) === c)).find((m) => m !== undefined) ?? metas.find((m) => m.type !== 'conditionalValidation');
    return { field, message: meta && owner ? reason(meta, owner, property, value) : `${field || 'the event'} is invalid (${e.keyword})` };
  }

  return (kind, obj) => {
    const validate = validators[kind];
    if (validate(obj)) return [];
    return (validate.errors ?? []).map((e) => toFieldError(kind, obj, e));
  };
}
