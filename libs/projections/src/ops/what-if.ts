/**
 * What-if areas of a replay (docs/operations.md, "What-if"): rules an area applies when it is
 * read, not when events are folded (the loyalty program, segment definitions, RFM cut-offs,
 * lifecycle thresholds). A replay with such rules folds the log ONCE, then each area computes,
 * over that read model and as of the replay's instant, what its answer is under the live rules and
 * under the what-if rules, and says what changes in its own terms (promoted and demoted customers,
 * segment entries and exits…).
 *
 * Rules a fold depends on (`currency`, `timezone`, `sharedDeviceLimit`) still build a second
 * read model, diffed table by table (replay.ts).
 *
 * An area's rules are in its own format, the one its API accepts (the loyalty program JSON of
 * PUT /v1/loyalty/program, segment definitions of POST /v1/segments), under `rules.<area>`.
 */
import type { Kysely } from 'kysely';
import type { CairnEventStore } from '@cairn/event-store';
import type { ReadModelSchema } from '@cairn/read-models';

/** What an area is told about the replay it is part of. */
export interface WhatIfContext {
  /** The replay's business-time instant (ISO UTC), or null: now. */
  readonly asOf: string | null;
  /** Its recorded-time instant (ISO UTC), or null: everything recorded. */
  readonly knownAt: string | null;
  /** The instant the answers are computed as of: `asOf`, else the replay's start. */
  readonly at: string;
  /** The log (for what lives in streams of their own: program versions, redemptions). */
  readonly events: CairnEventStore;
  /** The live read store (for what lives there: segment definitions), when the replay runs beside one. */
  readonly live: Kysely<ReadModelSchema> | null;
  /** The live rules of the folds. */
  readonly rules: unknown;
}

export interface WhatIfOutcome {
  /** The area's answer in `summary.json` (counts, totals, the first few of each list). */
  readonly summary: unknown;
  /** Whole lists, as files of the replay's output (`what-if/<area>/<name>.json`). */
  readonly files?: Readonly<Record<string, unknown>>;
}

export interface WhatIfArea<R = unknown> {
  /** The key under `rules` (`loyalty`, `segments`, `rfm`, `lifecycle`). */
  readonly key: string;
  /** Projections whose read model it reads: the replay must include them. */
  readonly reads: readonly string[];
  /** Validates its rules; CAIRN.VALIDATION naming each JSON path under `rules.<key>`. */
  parse(rules: unknown): R;
  /** Checks the parsed rules against the live read store (ids that must exist), before the job starts. */
  check?(rules: R, live: Kysely<ReadModelSchema> | null): Promise<void>;
  /** Live rules versus `rules`, over the replay's read model (`db`). */
  compare(db: Kysely<ReadModelSchema>, rules: R, context: WhatIfContext): Promise<WhatIfOutcome>;
}

/** The first `n` of a list, for `summary.json` (the file has the whole list). */
export function firstOf<T>(items: readonly T[], n = 20): T[] {
  return items.slice(0, n);
}
