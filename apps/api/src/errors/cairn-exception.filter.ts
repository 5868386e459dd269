import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import type { Response } from 'express';
import { CairnError, ERROR_CODES, type ErrorCode } from '@cairn/domain';
import { storeUnavailableReason } from '@cairn/read-models';
import { RUNTIME, type CairnRuntime } from '../runtime';

/** The one place where error codes become HTTP statuses. */
export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  [ERROR_CODES.VALIDATION]: 400,
  [ERROR_CODES.MALFORMED_JSON]: 400,
  [ERROR_CODES.UNAUTHENTICATED]: 401,
  [ERROR_CODES.FORBIDDEN]: 403,
  [ERROR_CODES.NOT_FOUND]: 404,
  [ERROR_CODES.STREAM_CONFLICT]: 409,
  [ERROR_CODES.STALE_READ]: 409,
  [ERROR_CODES.INSUFFICIENT_POINTS]: 409,
  [ERROR_CODES.OPERATION_CONFLICT]: 409,
  [ERROR_CODES.PAYLOAD_TOO_LARGE]: 413,
  [ERROR_CODES.UNAVAILABLE]: 503,
  [ERROR_CODES.CONFIG]: 500,
};

/** Seconds a client is told to wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = '1';

export interface ErrorBody {
  error: { code: string; message: string; fields?: unknown; [k: string]: unknown };
}

export function errorBody(code: string, message: string, details?: Record<string, unknown>): ErrorBody {
  return { error: { code, message, ...(details ?? {}) } };
}

const POISON = /^event (\S+) at (\d+) \(([^)]*)\): /;
/** How a projector thread's death starts the `lastError` of its projections (apps/cli projector-thread.ts). */
export const PROJECTOR_THREAD_DIED = 'projector thread died: ';

/**
 * A projection's last error as clients see it: Cairn's code and message, never the driver's text
 * (SQLite / PostgreSQL / gRPC messages are in the log, written when the error happened). A rejected
 * event keeps its id, position and type, which are Cairn's own.
 */
export function publicProjectionError(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  const poison = POISON.exec(raw);
  if (poison) {
    return `${ERROR_CODES.VALIDATION}: event ${poison[1]} at ${poison[2]} (${poison[3]}) was rejected by the projection; it is parked unless the projection stops on poison (details in the log and GET /v1/admin/parked)`;
  }
  if (raw.startsWith(PROJECTOR_THREAD_DIED)) {
    return `${ERROR_CODES.UNAVAILABLE}: the projector thread stopped; a new one starts by itself and resumes from the committed checkpoints (details in the log)`;
  }
  return `${ERROR_CODES.UNAVAILABLE}: the projection's last batch could not be committed or read (event store or read store); it retries by itself (details in the log)`;
}

@Catch()
export class CairnExceptionFilter implements ExceptionFilter {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (exception instanceof CairnError) {
      const status = STATUS_BY_CODE[exception.code] ?? 500;
      // The client sees Cairn's message; the driver's own error (if any) is the cause: logged, never sent.
      const cause = (exception as { cause?: unknown }).cause;
      if (status >= 500) this.runtime.logger.warn({ code: exception.code, err: cause ?? exception }, exception.message);
      if (status === 503 && !res.headersSent) res.setHeader('Retry-After', RETRY_AFTER_SECONDS);
      res.status(status).json(errorBody(exception.code, exception.message, exception.details as Record<string, unknown>));
      return;
    }
    if (exception instanceof HttpException) {
      // Nest's own (unknown route, method not allowed): keep the status, give it Cairn's shape.
      const status = exception.getStatus();
      const code =
        status === 404
          ? ERROR_CODES.NOT_FOUND
          : status === 413
            ? ERROR_CODES.PAYLOAD_TOO_LARGE
            : status === 503
              ? ERROR_CODES.UNAVAILABLE
              : status >= 500
                ? 'CAIRN.INTERNAL'
                : ERROR_CODES.VALIDATION;
      if (status === 503 && !res.headersSent) res.setHeader('Retry-After', RETRY_AFTER_SECONDS);
      res.status(status).json(errorBody(code, exception.message));
      return;
    }
    const unavailable = storeUnavailableReason(exception);
    if (unavailable !== undefined) {
      // A read-store driver error (PostgreSQL connection lost, SQLite disk full…): the request did
      // not complete; the next one gets a fresh connection.
      this.runtime.logger.warn({ err: exception }, `read store unavailable: ${unavailable}`);
      if (!res.headersSent) res.setHeader('Retry-After', RETRY_AFTER_SECONDS);
      res.status(503).json(errorBody(ERROR_CODES.UNAVAILABLE, `read store unavailable (${unavailable}); retry later`, { component: 'readStore' }));
      return;
    }
    this.runtime.logger.error({ err: exception }, 'unhandled error');
    res.status(500).json(errorBody('CAIRN.INTERNAL', 'internal error'));
  }
}
