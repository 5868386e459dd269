import { Controller, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { randomUUID } from 'crypto';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { RequireScope } from '../../auth/auth.guard';
import { Audited } from '../../audit/audit';
import { errorBody, RETRY_AFTER_SECONDS, STATUS_BY_CODE } from '../../errors/cairn-exception.filter';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { ImportEventsCommand, type ImportRecord } from './import-events.command';
import { MAX_IMPORT_LINE_BYTES } from './import-events.handler';
import { ndjsonLines } from './ndjson-lines';
import { ONE_EVENT_SCHEMA } from '../record-events/record-events.request.dto';

export const NDJSON = 'application/x-ndjson';

/**
 * `POST /v1/events/import`: an NDJSON body read as a stream (no JSON body parser, no body size
 * limit; one line ≤ 1 MiB, ≤ 32 levels deep), answered with an NDJSON stream of per-line errors,
 * `{acknowledged}` checkpoints and a final `{summary}`. The answer's headers (200) go out with the
 * first record; a failure before that is a plain error answer (503 + Retry-After for a store
 * fault), after that the last record is `{error: {code, message, acknowledged, resumeFromLine, …}}`.
 */
@ApiTags('ingest')
@ApiBearerAuth()
@Controller('v1/events')
export class ImportEventsHttpController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(RUNTIME) private readonly runtime: CairnRuntime,
  ) {}

  @Post('import')
  @HttpCode(200)
  @RequireScope('import')
  @Audited('events.imported')
  @ApiOperation({ summary: 'Bulk import: NDJSON, one event with an id per line; streamed NDJSON progress' })
  @ApiConsumes(NDJSON)
  @ApiProduces(NDJSON)
  @ApiBody({ description: 'NDJSON: one event of the POST /v1/events contract per line, each with an id (a UUID)', schema: ONE_EVENT_SCHEMA })
  @ApiResponse({
    status: 200,
    description: 'NDJSON records, one per line: {line,status:"rejected",errors}, {acknowledged,accepted,duplicates,rejected}, then {summary} or {error}',
    content: { [NDJSON]: { schema: { $ref: '#/components/schemas/ImportRecord' } } },
  })
  async import(@Req() req: Request, @Res() res: Response): Promise<void> {
    const type = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== NDJSON) {
      unreadBodyBounded(req, res);
      throw new CairnError(ERROR_CODES.VALIDATION, `the body must be NDJSON: send Content-Type: ${NDJSON}, one event per line`, {
        fields: [{ field: 'content-type', message: `must be ${NDJSON}, got ${type ? JSON.stringify(type.slice(0, 100)) : 'none'}` }],
      });
    }
    const header = req.headers['x-correlation-id'];
    const correlationId = typeof header === 'string' && /^[\w.:-]{1,100}$/.test(header) ? header : randomUUID();

    let started = false;
    const emit = async (record: ImportRecord | { error: unknown }): Promise<void> => {
      if (res.destroyed || res.writableEnded) return;
      if (!started) {
        started = true;
        res.status(200);
        res.setHeader('Content-Type', `${NDJSON}; charset=utf-8`);
        res.setHeader('Cache-Control', 'no-store');
        res.setHeader('X-Content-Type-Options', 'nosniff');
        res.flushHeaders();
      }
      if (!res.write(`${JSON.stringify(record)}\n`)) {
        await new Promise<void>((resolve) => {
          const done = () => (res.off('drain', done), res.off('close', done), resolve());
          res.on('drain', done);
          res.on('close', done);
        });
      }
    };

    let summary;
    try {
      summary = await this.commands.execute(new ImportEventsCommand(ndjsonLines(req.iterator({ destroyOnReturn: false }), MAX_IMPORT_LINE_BYTES), emit, correlationId, new Date()));
    } catch (err) {
      if ((req.destroyed && !req.complete) || (err as { code?: string }).code === 'ECONNRESET' || res.destroyed) {
        // The client went away mid-body: nobody to answer; what was acknowledged is durable.
        this.runtime.logger.info({ correlationId }, 'import: the client closed the connection before the end of the body');
        res.destroy();
        return;
      }
      // The body is not read any further (see unreadBodyBounded).
      unreadBodyBounded(req, res);
      if (!started) throw err;
      const code = err instanceof CairnError ? err.code : 'CAIRN.INTERNAL';
      if (!(err instanceof CairnError)) this.runtime.logger.error({ err }, 'import failed');
      else this.runtime.logger.warn({ code, err: (err as { cause?: unknown }).cause ?? err }, err.message);
      const body = err instanceof CairnError ? errorBody(err.code, err.message, { ...err.details, status: STATUS_BY_CODE[err.code] ?? 500, ...(STATUS_BY_CODE[err.code] === 503 ? { retryAfterSeconds: Number(RETRY_AFTER_SECONDS) } : {}) }) : errorBody(code, 'internal error', { status: 500 });
      await emit(body);
      res.end();
      return;
    }
    await emit({ summary });
    res.end();
  }
}

/** How long the rest of a body we stopped reading may keep the connection after the answer. */
const UNREAD_BODY_GRACE_MS = 5000;

/**
 * After an early answer, Node reads and discards the rest of the body (keep-alive) so the client
 * gets the answer: closing at once would reset the connection and the client's kernel could drop
 * the answer unread. A client that keeps sending anyway is cut after UNREAD_BODY_GRACE_MS.
 */
function unreadBodyBounded(req: Request, res: Response): void {
  if (req.complete) return;
  res.once('finish', () => {
    if (req.complete) return;
    const timer = setTimeout(() => req.socket?.destroy(), UNREAD_BODY_GRACE_MS);
    timer.unref();
    req.once('end', () => clearTimeout(timer));
    req.socket?.once('close', () => clearTimeout(timer));
  });
}
