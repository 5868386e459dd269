/** Thrown synchronously by the typed calls when an event is obviously invalid. */
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
