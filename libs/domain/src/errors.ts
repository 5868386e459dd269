/**
 * Errors below the controllers carry a stable code; one exception filter maps codes to HTTP.
 * Codes never change meaning once published.
 */
export const ERROR_CODES = {
  VALIDATION: 'CAIRN.VALIDATION',
  NOT_FOUND: 'CAIRN.NOT_FOUND',
  STREAM_CONFLICT: 'CAIRN.STREAM_CONFLICT',
  STALE_READ: 'CAIRN.STALE_READ',
  UNAUTHENTICATED: 'CAIRN.UNAUTHENTICATED',
  FORBIDDEN: 'CAIRN.FORBIDDEN',
  PAYLOAD_TOO_LARGE: 'CAIRN.PAYLOAD_TOO_LARGE',
  MALFORMED_JSON: 'CAIRN.MALFORMED_JSON',
  UNAVAILABLE: 'CAIRN.UNAVAILABLE',
  CONFIG: 'CAIRN.CONFIG',
  /** An operation (a rebuild) already runs on the same projection. */
  OPERATION_CONFLICT: 'CAIRN.OPERATION_CONFLICT',
  /** Loyalty: a redemption asks for more points than are available (details.available). */
  INSUFFICIENT_POINTS: 'CAIRN.INSUFFICIENT_POINTS',
} as const;
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export class CairnError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = 'CairnError';
  }
}
