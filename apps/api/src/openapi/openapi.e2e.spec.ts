/**
 * The OpenAPI document as served at /docs/openapi.json, checked generically over every operation
 * (so routes added later are held to the same rule): a success response with a schema (a 204
 * instead with no content, as HTTP says it has no body), a request body schema for every
 * POST/PUT, the error responses with Cairn's error shape, every $ref and security scheme
 * resolving; the event catalogue as a oneOf by `type`; the key as an opaque bearer token;
 * /docs and /docs/ with their assets; and schemas.json generated from the current types.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { EVENT_KINDS } from '@cairn/domain';
import { startCairn, type TestCairn } from '../../../../test/support/cairn';

type Doc = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, Record<string, unknown>> };
};
type Operation = {
  security?: unknown[];
  parameters?: { name: string; in: string }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
};

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const hasSchema = (content: Record<string, { schema?: unknown }> | undefined) => Object.values(content ?? {}).some((c) => c.schema !== undefined);
const isCairnError = (r: Operation['responses'][string] | undefined) => JSON.stringify(r?.content ?? {}).includes('"#/components/schemas/CairnError"');

/** Every way an operation falls short of the rule; [] when each one is fully described. */
export function undocumented(doc: Doc): string[] {
  const problems: string[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.includes(method)) continue;
      const name = `${method.toUpperCase()} ${path}`;
      const success = Object.entries(op.responses).filter(([s]) => /^2\d\d$/.test(s));
      if (success.length === 0) problems.push(`${name}: no success response`);
      for (const [status, r] of success) {
        if (status === '204') {
          if (r.content !== undefined) problems.push(`${name}: 204 describes a body, which a 204 never has`);
        } else if (!hasSchema(r.content)) problems.push(`${name}: ${status} has no response schema`);
      }
      if ((method === 'post' || method === 'put' || method === 'patch') && !hasSchema(op.requestBody?.content)) problems.push(`${name}: no request body schema`);
      const errors = Object.entries(op.responses).filter(([s]) => /^[45]\d\d$/.test(s));
      if (errors.length === 0) problems.push(`${name}: no error responses`);
      for (const [status, r] of errors) if (!isCairnError(r)) problems.push(`${name}: ${status} is not described with Cairn's error shape`);
      if ((op.security ?? []).length > 0) for (const s of ['401', '403']) if (!op.responses[s]) problems.push(`${name}: no ${s} though it needs a key`);
      for (const s of (op.security ?? []) as Record<string, unknown>[]) for (const scheme of Object.keys(s)) if (!(scheme in doc.components.securitySchemes)) problems.push(`${name}: security scheme ${scheme} is not declared`);
      if (path.includes('{') && !op.responses['404']) problems.push(`${name}: no 404 though it names a resource`);
      if ((op.parameters ?? []).some((p) => p.name === 'minPosition') && !op.responses['409']) problems.push(`${name}: no 409 though it takes minPosition`);
    }
  }
  const text = JSON.stringify(doc);
  for (const [, name] of text.matchAll(/"#\/components\/schemas\/([^"]+)"/g)) if (!(name in doc.components.schemas)) problems.push(`$ref to a missing component ${name}`);
  return [...new Set(problems)];
}

describe('OpenAPI at /docs', () => {
  let cairn: TestCairn;
  let doc: Doc;
  beforeAll(async () => {
    cairn = await startCairn();
    doc = (await (await fetch(`${cairn.url}/docs/openapi.json`)).json()) as Doc;
  });
  afterAll(async () => cairn?.close());

  it('describes every operation: request body, response schema, error responses with Cairn’s error shape', () => {
    expect(Object.keys(doc.paths).length).toBeGreaterThan(30);
    expect(undocumented(doc)).toEqual([]);
  });

  it('the rule catches an operation without a response schema, a body or an error response', () => {
    const broken = JSON.parse(JSON.stringify(doc)) as Doc;
    delete broken.paths['/v1/customers/{id}'].get.responses['200'].content;
    delete broken.paths['/v1/admin/keys'].post.requestBody;
    broken.paths['/v1/projections'].get.responses = { '200': broken.paths['/v1/projections'].get.responses['200'] };
    broken.paths['/v1/new'] = { post: { responses: { '201': { description: 'Created' } } } as unknown as Operation };
    broken.paths['/v1/webhooks/{id}'].delete.responses['204'].content = { 'application/json': { schema: {} } };
    broken.paths['/v1/segment/batch'].post.security = [{ segment: [] }];
    expect(undocumented(broken)).toEqual(
      expect.arrayContaining([
        'GET /v1/customers/{id}: 200 has no response schema',
        'POST /v1/admin/keys: no request body schema',
        'GET /v1/projections: no error responses',
        'POST /v1/new: 201 has no response schema',
        'POST /v1/new: no request body schema',
        'DELETE /v1/webhooks/{id}: 204 describes a body, which a 204 never has',
        'POST /v1/segment/batch: security scheme segment is not declared',
      ]),
    );
  });

  it('POST /v1/events takes one event (a oneOf by type over the whole catalogue) or {events:[…]}', () => {
    const body = doc.paths['/v1/events'].post.requestBody!.content!['application/json'].schema as { oneOf: { $ref: string }[] };
    const oneEvent = doc.components.schemas.RecordEventsRequestDto as { properties: { events: { items: { discriminator: { propertyName: string; mapping: Record<string, string> } } } } };
    const discriminator = oneEvent.properties.events.items.discriminator;
    expect(discriminator.propertyName).toBe('type');
    expect(Object.keys(discriminator.mapping).sort()).toEqual([...EVENT_KINDS].sort());
    for (const target of Object.values(discriminator.mapping)) expect(body.oneOf.map((s) => s.$ref)).toContain(target);
  });

  it('the API key is an opaque bearer token, not a JWT; Basic auth (its user) only on the Segment door', () => {
    const { bearer, basic, ...others } = doc.components.securitySchemes;
    expect(others).toEqual({});
    expect(bearer).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    expect(bearer!.bearerFormat).toBeUndefined();
    expect(String(bearer!.description)).toMatch(/opaque/);
    expect(basic).toEqual(expect.objectContaining({ type: 'http', scheme: 'basic' }));
    const withBasic = Object.entries(doc.paths).flatMap(([path, item]) => Object.values(item).filter((op) => JSON.stringify(op.security ?? []).includes('"basic"')).map(() => path));
    expect(withBasic.sort()).toEqual(['/v1/segment/batch', '/v1/segment/identify', '/v1/segment/page', '/v1/segment/track']);
  });

  it.each(['/docs', '/docs/'])('%s serves the UI and every asset it links', async (path) => {
    const res = await fetch(`${cairn.url}${path}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => new URL(m[1], `${cairn.url}${path}`).toString());
    expect(assets.length).toBeGreaterThanOrEqual(3);
    for (const asset of assets) expect({ asset, status: (await fetch(asset)).status }).toEqual({ asset, status: 200 });
  });

  it('schemas.json is generated from the current types (npm run openapi:schemas)', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { generate, OUT } = require('../../../../bin/openapi-schemas.js') as { generate: () => unknown; OUT: string };
    expect(JSON.parse(readFileSync(OUT, 'utf8'))).toEqual(generate());
    expect(OUT).toBe(join(__dirname, 'schemas.json'));
  }, 120_000);
});
