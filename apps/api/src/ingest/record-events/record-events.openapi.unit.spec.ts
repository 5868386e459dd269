/**
 * /docs shows each event type's schema: the ones generated from the DTOs (and compiled by
 * parseEvent) are components of the OpenAPI document, and the ingest body refers to them.
 */
import 'reflect-metadata';
import { CommandBus } from '@nestjs/cqrs';
import { Test } from '@nestjs/testing';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { EVENT_KINDS } from '@cairn/domain';
import { RecordEventsHttpController } from './record-events.http.controller';
import { addEventSchemas, EVENT_SCHEMAS } from './record-events.request.dto';

async function document(): Promise<OpenAPIObject> {
  const mod = await Test.createTestingModule({ controllers: [RecordEventsHttpController], providers: [{ provide: CommandBus, useValue: {} }] }).compile();
  const app = mod.createNestApplication({ logger: false });
  try {
    return addEventSchemas(SwaggerModule.createDocument(app, new DocumentBuilder().build()));
  } finally {
    await app.close();
  }
}

/** Every `$ref` in `node`. */
function refs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => refs(n, out));
  else if (node !== null && typeof node === 'object') for (const [k, v] of Object.entries(node)) k === '$ref' && typeof v === 'string' ? out.push(v) : refs(v, out);
  return out;
}

describe('OpenAPI document of POST /v1/events', () => {
  it('has every event type as a component schema, generated from its DTO', async () => {
    const doc = await document();
    const schemas = doc.components?.schemas ?? {};
    for (const kind of EVENT_KINDS) {
      const name = EVENT_SCHEMAS.byKind[kind];
      expect(schemas[name]).toMatchObject({ type: 'object', additionalProperties: false, properties: { type: { enum: [kind] } } });
    }
    expect(schemas.PurchaseDto).toMatchObject({
      required: expect.arrayContaining(['orderId', 'currency', 'items', 'totalMinor']),
      properties: { items: { type: 'array', minItems: 1, items: { $ref: '#/components/schemas/PurchaseItemDto' } }, totalMinor: { type: 'integer', minimum: 0, maximum: 1e12 } },
    });
    expect(schemas.PurchaseItemDto).toMatchObject({ properties: { quantity: { type: 'integer', minimum: 1 } } });
    // the DTOs' @ApiProperty text comes along
    expect(schemas.ViewDto).toMatchObject({ properties: { id: { format: 'uuid', description: expect.stringContaining('idempotency') }, occurredAt: { example: expect.any(String) } } });
  });

  it('offers them as the request body (one event by type, or { events: [...] }) and every $ref resolves', async () => {
    const doc = await document();
    const body = doc.paths['/v1/events']?.post?.requestBody as { content: Record<string, { schema: unknown }> };
    const bodyRefs = refs(body.content['application/json'].schema);
    for (const kind of EVENT_KINDS) expect(bodyRefs).toContain(`#/components/schemas/${EVENT_SCHEMAS.byKind[kind]}`);
    expect(bodyRefs).toContain('#/components/schemas/RecordEventsRequestDto');
    expect(refs(doc.components?.schemas?.RecordEventsRequestDto)).toEqual(expect.arrayContaining(Object.values(EVENT_SCHEMAS.byKind).map((n) => `#/components/schemas/${n}`)));
    const names = new Set(Object.keys(doc.components?.schemas ?? {}));
    for (const ref of refs(doc)) expect(names.has(ref.replace('#/components/schemas/', ''))).toBe(true);
  });
});
