/** Server-side `$all` filters (stream name or event type; prefixes or a regex) and the checkpoint cadence. */
import { streamsPb } from './proto';

/** EventStoreDB's read batch size when the client leaves the search window to the server (`count`). */
export const DEFAULT_SEARCH_WINDOW = 32;

export interface Filter {
  matches(streamName: string, eventType: string): boolean;
  /** A checkpoint is due every `checkpointEvery` events scanned (matching or not): multiplier × window. */
  checkpointEvery: number;
}

/** Throws an Error with a readable message for an unusable filter (bad regex, nothing to filter on). */
export function compileFilter(options: streamsPb.ReadReq.Options.FilterOptions): Filter {
  const onStream = options.hasStreamIdentifier();
  const expr = onStream ? options.getStreamIdentifier() : options.getEventType();
  if (!expr) throw new Error('filter must be on stream identifier or event type');
  const regexText = expr.getRegex();
  const prefixes = expr.getPrefixList();
  let test: (s: string) => boolean;
  if (regexText) {
    let re: RegExp;
    try {
      re = new RegExp(regexText);
    } catch (err) {
      throw new Error(`invalid filter regex: ${(err as Error).message}`);
    }
    test = (s) => re.test(s);
  } else if (prefixes.length > 0) {
    test = (s) => prefixes.some((p) => s.startsWith(p));
  } else {
    test = () => true;
  }
  const window = options.hasMax() && options.getMax() > 0 ? options.getMax() : DEFAULT_SEARCH_WINDOW;
  const multiplier = Math.max(1, options.getCheckpointintervalmultiplier() || 1);
  return {
    matches: onStream ? (stream) => test(stream) : (_stream, type) => test(type),
    checkpointEvery: window * multiplier,
  };
}
