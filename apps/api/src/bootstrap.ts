import type { INestApplication, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import express, { type NextFunction, type Request, type Response } from 'express';
import { ERROR_CODES } from '@cairn/domain';
import type { Logger } from '@cairn/runtime';
import { AppModule } from './app.module';
import { errorBody } from './errors/cairn-exception.filter';
import { MAX_BODY_BYTES } from './ingest/record-events/record-events.request.dto';
import type { CairnRuntime } from './runtime';

/** Nest's logger, writing through pino so every log line is structured JSON. */
class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string) {
    this.logger.info({ context }, String(message));
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
  if (err.type === 'entity.too.large') {
    res.status(413).json(errorBody(ERROR_CODES.PAYLOAD_TOO_LARGE, `the body exceeds ${MAX_BODY_BYTES} bytes`));
  } else if (err.type === 'entity.parse.failed') {
    res.status(400).json(errorBody(ERROR_CODES.MALFORMED_JSON, `malformed JSON: ${err.message ?? 'cannot parse'}`));
  } else if (typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
    res.status(err.status).json(errorBody(ERROR_CODES.VALIDATION, err.message ?? 'bad request'));
  } else {
    next(err);
  }
}

export async function createApiApp(runtime: CairnRuntime): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.register(runtime), {
    bodyParser: false,
    logger: new PinoNestLogger(runtime.logger.child({ component: 'nest' })),
    forceCloseConnections: false,
  });
  const origins = runtime.config.corsOrigins.trim();
  app.enableCors({
    origin: origins === '*' ? true : origins.split(',').map((o) => o.trim()).filter(Boolean),
    methods: ['GET', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'x-correlation-id'],
    exposedHeaders: ['x-cairn-stale', 'retry-after'],
    maxAge: 600,
  });
  app.use(express.json({ limit: MAX_BODY_BYTES, strict: true, type: ['application/json', 'application/*+json'] }));
  app.use(bodyErrors);
  const doc = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Cairn')
      .setDescription('Event-sourced customer-journey engine: ingest commerce events, read profiles and projections.')
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, doc, { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}
