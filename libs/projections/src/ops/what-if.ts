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
import { DEFAULT_SHARED_DEVICE_LIMIT, IDENTITY_MERGED, IDENTITY_UNMERGED, parseSource, resolveIdentities, type ActiveMerge } from '@cairn/domain';
import type { CairnEventStore } from '@cairn/event-store';
import type { ReadModelSchema } from '@cairn/read-models';
import { isIngestEvent, type LogEvent } from '../projection';

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
  /**
   * Identity as of the replay's instants (the identity log as the replay kept it: links seen in
   * the events included, merges requested by then and not unmerged by then): each customer id whose
   * person is another customer id, to that id. Absent: every customer id is its own person.
   */
  readonly persons?: ReadonlyMap<string, string>;
}

/**
 * The identity a replay's events say, folded as the profile projection folds it (the same links,
 * merges and shared-device guard-rail, resolved by the same `resolveIdentities`), so an area reads
 * persons as of the replay's instants whether or not the replay includes the profiles projection.
 */
export class IdentityAsOf {
  private readonly links = new Map<string, { anonymousId: string; customerId: string }>();
  private readonly merges = new Map<string, ActiveMerge>();

  constructor(private readonly sharedDeviceLimit: number = DEFAULT_SHARED_DEVICE_LIMIT) {}

  /** One event the replay keeps (in log order). */
  add(event: LogEvent): void {
    if (isIngestEvent(event)) {
      const { customerId, anonymousId } = event.data as { customerId?: unknown; anonymousId?: unknown };
      if (typeof customerId === 'string' && customerId !== '' && typeof anonymousId === 'string' && anonymousId !== '') {
        const key = `${anonymousId}\u0000${customerId}`;
        if (!this.links.has(key)) this.links.set(key, { anonymousId, customerId });
      }
      return;
    }
    if (event.type === IDENTITY_MERGED) {
      const d = event.data as { mergeId: string; survivorId: string; mergedId: string };
      if (!this.merges.has(d.mergeId)) this.merges.set(d.mergeId, { mergeId: d.mergeId, survivorId: d.survivorId, mergedId: d.mergedId });
    } else if (event.type === IDENTITY_UNMERGED) {
      this.merges.delete((event.data as { mergeId: string }).mergeId);
    }
  }

  /** Each customer id whose person is another customer id, to that id. */
  persons(): Map<string, string> {
    const out = new Map<string, string>();
    if (this.merges.size === 0 && this.links.size === 0) return out;
    const resolution = resolveIdentities([], [...this.links.values()], [...this.merges.values()], this.sharedDeviceLimit);
    for (const [source, person] of resolution.personBySource) {
      if (source === person) continue;
      const s = parseSource(source);
      const p = parseSource(person);
      if (s.kind === 'customer' && p.kind === 'customer') out.set(s.id, p.id);
    }
    return out;
  }
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
