export { Cairn, SERVER_MAX_BYTES, SERVER_MAX_EVENTS, KEEPALIVE_MAX_BYTES } from './client';
export { CairnValidationError, CairnDeliveryError } from './errors';
export { uuidv7, uuidv7Time, UUIDV7_RE } from './uuid';
export { backoffDelay, parseRetryAfter } from './backoff';
export { validateEvent, CHANNELS, KINDS } from './validate';
export { isoWithOffset } from './time';
export type * from './types';
