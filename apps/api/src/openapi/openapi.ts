/**
 * Cairn's OpenAPI document: the response decorators the controllers use (schemas generated from
 * the types they return, see schemas.ts), Cairn's error shape, and the error responses each
 * operation can give, added from what the operation has (a key, a body, path parameters,
 * `minPosition`) so that every operation, present and future, is described the same way.
 */
import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiQuery, ApiResponse } from '@nestjs/swagger';
import type { OpenAPIObject } from '@nestjs/swagger';
import { ERROR_CODES, type ErrorCode } from '@cairn/domain';
import { STATUS_BY_CODE } from '../errors/cairn-exception.filter';
import type { SchemaName } from './schemas';
import generated from './schemas.json';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/**
 * The JSON answer of an operation: `status` with the schema generated for `name` (a key of
 * CairnSchemas). `csv`: the operation also answers text/csv when asked with `Accept: text/csv`.
 */
export function ApiAnswer(status: number, name: SchemaName, opts: { description?: string; csv?: boolean } = {}) {
  return ApiResponse({
    status,
    description: opts.description ?? (status === 201 ? 'Created' : status === 202 ? 'Accepted' : 'OK'),
    content: {
      'application/json': { schema: ref(name) },
      ...(opts.csv ? { 'text/csv': { schema: { type: 'string', description: 'the same rows as CSV (Accept: text/csv)' } } } : {}),
    },
  });
}

/** A JSON request body with the schema generated for `name` (for bodies a hand-written parser checks). */
export function ApiJsonBody(name: SchemaName, required = true) {
  return ApiBody({ required, schema: ref(name) });
}

/**
 * A POST that takes no body (an action on the resource its path names): described as an optional
 * JSON body that is not read, which is what the server does with one (it must still be JSON within
 * the size limit: 400 / 413 otherwise).
 */
export function ApiNoBody() {
  return ApiBody({ required: false, description: 'None: a body sent is not read', schema: { type: 'object', additionalProperties: true } });
}

/** `?minPosition` / `?allowStale` of a read that can wait for its writes (409 CAIRN.STALE_READ is added from them). */
export function ApiReadYourWrites() {
  return applyDecorators(
    ApiQuery({ name: 'minPosition', required: false, description: 'Wait until the read models include this log position (the commit of an ingest response), or lastImport: the position the last bulk import reached' }),
    ApiQuery({ name: 'allowStale', required: false, description: 'true: answer after the wait even if not caught up, with X-Cairn-Stale: true' }),
  );
}

/** An error answer in Cairn's shape, where the operation says more than the generic description. */
export function ApiError(status: number, description: string) {
  return ApiResponse({ status, description, content: { 'application/json': { schema: ref('CairnError') } } });
}

/** The 409 codes an operation can answer besides a stale read. */
export function ApiConflict(...codes: ErrorCode[]) {
  return ApiError(409, codes.join(', '));
}

const ERROR_SCHEMA = {
  type: 'object',
  description: "Cairn's error answer: a stable code, a message, and for invalid input each field with the reason",
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      additionalProperties: true,
      properties: {
        code: { type: 'string', enum: Object.values(ERROR_CODES) },
        message: { type: 'string' },
        fields: { type: 'array', items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string' }, message: { type: 'string' } } } },
      },
    },
  },
};

const codesOf = (status: number) =>
  Object.entries(STATUS_BY_CODE)
    .filter(([, s]) => s === status)
    .map(([code]) => code);

const WHY: Record<number, string> = {
  400: 'malformed or invalid input (each field with the reason), or nested deeper than 32 levels',
  401: 'no key, or an unknown, revoked or expired one',
  403: 'the key lacks the scope this operation needs',
  404: 'no such resource',
  409: '`minPosition` not reached within CAIRN_READ_WAIT_MS (add allowStale=true to get the answer anyway)',
  413: 'body too large',
  503: 'the event store or read store is unavailable (with Retry-After)',
};

/** The headers of every read answer (apps/api/src/read-your-writes.ts). */
const FRESHNESS_HEADERS = {
  'X-Cairn-Position': { description: 'Log position the answer reflects (at least every event up to it); none before anything was folded', schema: { type: 'string' } },
  'X-Cairn-Head': { description: "The last Cairn event's log position; none in an empty log", schema: { type: 'string' } },
  'X-Cairn-Lag-Events': { description: 'Cairn events after X-Cairn-Position (counted up to 1000, then 1000+)', schema: { type: 'string' } },
  'X-Cairn-Lag-Seconds': { description: 'Age of the oldest event not yet reflected (0 when caught up)', schema: { type: 'string' } },
  'X-Cairn-Min-Position': { description: 'With minPosition=lastImport: the position waited for, none when no import is recorded (nothing waited for)', schema: { type: 'string' } },
  'X-Cairn-Stale': { description: 'true: minPosition was not reached and allowStale=true was given', schema: { type: 'string' } },
};

type Operation = {
  parameters?: { name?: string; in?: string }[];
  requestBody?: unknown;
  security?: unknown[];
  responses: Record<string, { description?: string; content?: Record<string, { schema?: unknown }>; headers?: unknown }>;
};

/**
 * Completes the document: the generated response schemas and CairnError as components, the API
 * key as an opaque bearer token (and, on the Segment door only, as the user of Basic auth), and on
 * every operation the error responses it can give.
 */
export function completeOpenApi(doc: OpenAPIObject): OpenAPIObject {
  doc.components ??= {};
  const schemas = (doc.components.schemas ??= {});
  for (const [name, schema] of Object.entries({ ...generated.schemas, CairnError: ERROR_SCHEMA })) {
    if (name in schemas && JSON.stringify(schemas[name]) !== JSON.stringify(schema)) throw new Error(`OpenAPI component ${name} is defined twice`);
    schemas[name] = schema as never;
  }
  doc.components.securitySchemes = {
    bearer: { type: 'http', scheme: 'bearer', description: 'A Cairn API key (cairn_…): an opaque secret, not a JWT. Authorization: Bearer <key>' },
    basic: { type: 'http', scheme: 'basic', description: "The same Cairn API key as the user of Basic auth (empty password), as Segment's SDKs send their write key; only the /v1/segment routes take it" },
  };
  const error = (status: number) => ({
    description: `${codesOf(status).join(', ')}: ${WHY[status]}`,
    content: { 'application/json': { schema: ref('CairnError') } },
  });
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item as Record<string, Operation>)) {
      if (!['get', 'post', 'put', 'delete', 'patch'].includes(method)) continue;
      const r = op.responses;
      const params = op.parameters ?? [];
      const add = (status: number) => {
        r[status] ??= error(status);
      };
      if (op.requestBody || params.length > 0) add(400);
      if ((op.security ?? []).length > 0) {
        add(401);
        add(403);
      }
      if (path.includes('{')) add(404);
      if (params.some((p) => p.name === 'minPosition')) {
        for (const [status, answer] of Object.entries(r)) if (status.startsWith('2')) (answer as { headers?: unknown }).headers = FRESHNESS_HEADERS;
        const stale = `${ERROR_CODES.STALE_READ}: ${WHY[409]}`;
        r[409] = { ...error(409), description: r[409] ? `${r[409].description}; ${stale}` : stale };
      }
      if (op.requestBody) add(413);
      add(503);
    }
  }
  return doc;
}
