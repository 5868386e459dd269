/** Server-side `$all` filters (stream name or event type; prefixes or a regex) and the checkpoint cadence. */

/** EventStoreDB's read batch size when the client leaves the search window to the server (`count`). */
export const DEFAULT_SEARCH_WINDOW = 32;

export interface Filter {
  matches(streamName: string, eventType: string): boolean;
  /** A checkpoint is due every `checkpointEvery` events scanned (matching or not): multiplier × window. */
  checkpointEvery: number;
}

/** A filter as plain data (what a persistent subscription group keeps in its durable config). */
export interface FilterSpec {
  on: 'stream' | 'type';
  regex: string;
  prefixes: string[];
  window: number;
  multiplier: number;
}

interface PbExpression {
  getRegex(): string;
  getPrefixList(): string[];
}

/** The FilterOptions of streams' ReadReq and of persistent subscriptions' CreateReq share this shape. */
interface PbFilterOptions {
  hasStreamIdentifier(): boolean;
  getStreamIdentifier(): PbExpression | undefined;
  getEventType(): PbExpression | undefined;
  hasMax(): boolean;
  getMax(): number;
  getCheckpointintervalmultiplier(): number;
}

/** Throws an Error with a readable message when there is nothing to filter on. */
export function filterSpecOf(options: PbFilterOptions): FilterSpec {
  const onStream = options.hasStreamIdentifier();
  const expr = onStream ? options.getStreamIdentifier() : options.getEventType();
  if (!expr) throw new Error('filter must be on stream identifier or event type');
  return {
    on: onStream ? 'stream' : 'type',
    regex: expr.getRegex(),
    prefixes: expr.getPrefixList(),
    window: options.hasMax() && options.getMax() > 0 ? options.getMax() : DEFAULT_SEARCH_WINDOW,
    multiplier: Math.max(1, options.getCheckpointintervalmultiplier() || 1),
  };
}

/** Throws an Error with a readable message for an unusable filter (bad regex). */
export function compileFilter(spec: FilterSpec): Filter {
  let test: (s: string) => boolean;
  if (spec.regex) {
    let re: RegExp;
    try {
      re = new RegExp(spec.regex);
    } catch (err) {
      throw new Error(`invalid filter regex: ${(err as Error).message}`);
    }
    test = (s) => re.test(s);
  } else if (spec.prefixes.length > 0) {
    const prefixes = spec.prefixes;
    test = (s) => prefixes.some((p) => s.startsWith(p));
  } else {
    test = () => true;
  }
  return {
    matches: spec.on === 'stream' ? (stream) => test(stream) : (_stream, type) => test(type),
    checkpointEvery: spec.window * spec.multiplier,
  };
}
