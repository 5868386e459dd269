import type { INestApplication, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { CorsOptions, CorsOptionsDelegate } from '@nestjs/common/interfaces/external/cors-options.interface';
import express, { type NextFunction, type Request, type Response } from 'express';
import { corsOriginList, type CairnConfig } from '@cairn/config';
import { ERROR_CODES } from '@cairn/domain';
import type { Logger } from '@cairn/runtime';
import { AppModule } from './app.module';
import { MAX_BODY_BYTES, MAX_BODY_DEPTH, verifyBodyDepth } from './body-limits';
import { errorBody } from './errors/cairn-exception.filter';
import { addEventSchemas } from './ingest/record-events/record-events.request.dto';
import { completeOpenApi } from './openapi/openapi';
import type { CairnRuntime } from './runtime';

/** Nest's logger, writing through pino so every log line is structured JSON. */
class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string) {
    // Nest's own log lines are start-up chatter (every module loaded, every route mapped): debug, not info.
    this.logger.debug({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string) {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string) {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string) {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string) {
    this.logger.trace({ context }, String(message));
  }
}

/** Body-parser failures never reach Nest: answer them here with Cairn's error shape. */
function bodyErrors(err: { type?: string; status?: number; message?: string }, _req: Request, res: Response, next: NextFunction): void {
  if (!err || res.headersSent) return next(err);
  // The rest of an unread body is not worth waiting for: close the connection after answering.
  res.setHeader('Connection', 'close');
  if (err.type === 'cairn.body.too.deep') {
    res.status(400).json(errorBody(ERROR_CODES.VALIDATION, err.message ?? 'the body nests too deep', { fields: [{ field: 'body', message: `nests deeper than ${MAX_BODY_DEPTH} levels` }] }));
  } else if (err.type === 'entity.too.large') {
    res.status(413).json(errorBody(ERROR_CODES.PAYLOAD_TOO_LARGE, `the body exceeds ${MAX_BODY_BYTES} bytes`));
  } else if (err.type === 'entity.parse.failed') {
    res.status(400).json(errorBody(ERROR_CODES.MALFORMED_JSON, `malformed JSON: ${err.message ?? 'cannot parse'}`));
  } else if (typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
    res.status(err.status).json(errorBody(ERROR_CODES.VALIDATION, err.message ?? 'bad request'));
  } else {
    next(err);
  }
}

/** The ingest route: what a storefront SDK calls from the browser (not the import route, a server's). */
const INGEST_PATH = /^\/v1\/events\/?(\?|$)/;
/** The bulk import route reads its NDJSON body as a stream: no JSON body parser, no body size limit. */
const IMPORT_PATH = /^\/v1\/events\/import\/?(\?|$)/i;
/** The Segment-compatible door: its bodies are JSON whatever the Content-Type (RudderStack's SDK gzips with a form type). */
const SEGMENT_PATH = /^\/v1\/segment\//i;

/**
 * CORS per route: POST /v1/events answers the origins of CAIRN_CORS_INGEST_ORIGINS (default any);
 * every other route those of CAIRN_CORS_ORIGINS (default none: read, loyalty and admin keys belong
 * on servers). An origin not allowed gets no CORS headers at all, so the browser refuses the answer.
 */
export function corsPolicy(config: Pick<CairnConfig, 'corsOrigins' | 'corsIngestOrigins'>): CorsOptionsDelegate<Request> {
  const ingest = corsOriginList(config.corsIngestOrigins);
  const rest = corsOriginList(config.corsOrigins);
  const common: CorsOptions = {
    allowedHeaders: ['authorization', 'content-type', 'x-correlation-id'],
    exposedHeaders: ['x-cairn-stale', 'retry-after'],
    maxAge: 600,
  };
  return (req, cb) => {
    const isIngest = INGEST_PATH.test(req.originalUrl ?? req.url);
    const allowed = isIngest ? ingest : rest;
    const origin = req.headers.origin;
    const ok = allowed === true || (typeof origin === 'string' && allowed.includes(origin));
    cb(null, ok ? { ...common, origin: allowed === true ? '*' : origin, methods: isIngest ? ['POST'] : ['GET', 'POST', 'PUT', 'DELETE'] } : { origin: false });
  };
}

export async function createApiApp(runtime: CairnRuntime): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.register(runtime), {
    bodyParser: false,
    logger: new PinoNestLogger(runtime.logger.child({ component: 'nest' })),
    forceCloseConnections: false,
  });
  app.enableCors(corsPolicy(runtime.config));
  // The depth check runs on the raw bytes (verify), before JSON.parse and long before class-transformer.
  const json = express.json({ limit: MAX_BODY_BYTES, strict: true, type: ['application/json', 'application/*+json'], verify: verifyBodyDepth });
  const anyJson = express.json({ limit: MAX_BODY_BYTES, strict: true, type: () => true, verify: verifyBodyDepth });
  app.use((req: Request, res: Response, next: NextFunction) => {
    const url = req.originalUrl ?? req.url;
    return IMPORT_PATH.test(url) ? next() : SEGMENT_PATH.test(url) ? anyJson(req, res, next) : json(req, res, next);
  });
  app.use(bodyErrors);
  const doc = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Cairn')
      .setDescription('Event-sourced customer-journey engine: ingest commerce events, read profiles and projections.')
      .setVersion('1')
      .addBearerAuth()
      .addBasicAuth()
      .build(),
  );
  // Each event type's schema, generated from the ingest DTOs (the same schemas parseEvent compiles);
  // the response schemas, generated from the types the controllers return; the error responses.
  completeOpenApi(addEventSchemas(doc));
  SwaggerModule.setup('docs', app, doc, { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}
