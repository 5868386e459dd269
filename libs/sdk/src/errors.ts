/**
 * Thrown by the constructor for invalid options. For an invalid event the typed calls throw
 * nothing: its field and reason go to the `rejected` report.
 */
export class CairnValidationError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'CairnValidationError';
  }
}

/** Reported on the 'error' channel when the server refuses a request as a whole. */
export class CairnDeliveryError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'CairnDeliveryError';
  }
}
