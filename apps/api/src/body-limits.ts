/**
 * Request body limits, enforced on the raw bytes before JSON.parse, class-transformer or
 * class-validator see anything: a body nested thousands deep used to overflow the stack in
 * class-transformer (500). Too large → 413, too deep → 400 CAIRN.VALIDATION naming the limit.
 */
import { MAX_BODY_BYTES } from './ingest/record-events/record-events.request.dto';

export { MAX_BODY_BYTES };
/** Deepest nesting of objects and arrays a body may have (`{}` is 1; an ingest batch needs 5). */
export const MAX_BODY_DEPTH = 32;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The nesting depth of a JSON text, or `max + 1` as soon as it goes past `max` (it stops there).
 * Brackets inside strings do not count; UTF-8 continuation bytes never equal an ASCII delimiter.
 * Malformed text gets some number: JSON.parse rejects it afterwards.
 */
export function jsonDepth(buf: Uint8Array, max: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) {
      inString = true;
    } else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > max) return deepest;
      }
    } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
      depth--;
    }
  }
  return deepest;
}

/** What body-parser's `verify` throws for a too-deep body; answered 400 by the body error handler. */
export class BodyTooDeep extends Error {
  readonly status = 400;
  readonly type = 'cairn.body.too.deep';
  constructor() {
    super(`the body nests objects and arrays deeper than ${MAX_BODY_DEPTH} levels`);
  }
}

/** body-parser `verify` hook: runs on the raw buffer before parsing. */
export function verifyBodyDepth(_req: unknown, _res: unknown, buf: Buffer): void {
  if (jsonDepth(buf, MAX_BODY_DEPTH) > MAX_BODY_DEPTH) throw new BodyTooDeep();
}
