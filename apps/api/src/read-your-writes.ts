/**
 * Freshness of read answers, for every read endpoint in one place: `@ReadAnswer()` on a route makes
 * it wait for `?minPosition=` (read-your-writes, bounded by CAIRN_READ_WAIT_MS, else 409
 * CAIRN.STALE_READ unless `allowStale=true`) and answer with the log position it reflects and how
 * far that is behind the head of the log:
 *
 *   X-Cairn-Position: the lowest projection checkpoint, read before the answer's rows (so the rows
 *                     include at least every event up to it); `none` before anything was folded
 *   X-Cairn-Head:     the last Cairn event in the log (`none` in an empty log)
 *   X-Cairn-Lag-Events / X-Cairn-Lag-Seconds: Cairn events after the position (counted up to
 *                     1,000, then `1000+`) and the age of the oldest of them (0 when caught up)
 *   (head and lag are `unknown` when the event store does not answer within CAIRN_HEAD_WAIT_MS: the
 *   answer itself comes from the read store and is given all the same)
 *
 * `?minPosition=lastImport` waits for the position the last bulk import reached (recorded by
 * POST /v1/events/import); with no import recorded it does not wait and says
 * `X-Cairn-Min-Position: none`, else that header is the position it waited for.
 *
 * An answer computed from a snapshot of its own (an RFM run) says the position of that snapshot
 * instead: the body's `run.position`, which is also where a JSON body carries it.
 */
import { CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor, UseInterceptors, applyDecorators } from '@nestjs/common';
import type { Request, Response } from 'express';
import { from, mergeMap, switchMap, type Observable } from 'rxjs';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { lastImportPosition } from '@cairn/read-models';
import { ApiReadYourWrites } from './openapi/openapi';
import { RUNTIME, type CairnRuntime } from './runtime';

/** Parses `?minPosition=` (a commit position from an ingest response); 400 naming it when bad. */
export function parseMinPosition(value: unknown): bigint | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^\d{1,20}$/.test(value)) {
    throw new CairnError(ERROR_CODES.VALIDATION, 'minPosition must be a log position (a non-negative integer)', {
      fields: [{ field: 'minPosition', message: 'must be a non-negative integer, as returned by POST /v1/events' }],
    });
  }
  return BigInt(value);
}

/**
 * Read-your-writes: waits (bounded by CAIRN_READ_WAIT_MS) until the projections have folded the log
 * up to `minPosition`. Returns whether the read is stale; throws 409 CAIRN.STALE_READ unless the
 * caller accepts a stale answer.
 */
export async function awaitPosition(runtime: CairnRuntime, minPosition: bigint | undefined, allowStale: boolean): Promise<boolean> {
  if (minPosition === undefined) return false;
  const reached = await runtime.projections.waitFor(minPosition, runtime.config.readWaitMs);
  if (reached) return false;
  if (allowStale) return true;
  throw staleRead(minPosition, `the read models have not reached position ${minPosition} within ${runtime.config.readWaitMs} ms; retry, or pass allowStale=true`);
}

function staleRead(minPosition: bigint, message: string): CairnError {
  return new CairnError(ERROR_CODES.STALE_READ, message, { minPosition: minPosition.toString() });
}

export interface Freshness {
  /** Log position the answer reflects (commit), null before anything was folded. */
  readonly position: string | null;
  /** The last Cairn event's position in the log, null in an empty log, 'unknown' when the event store did not answer. */
  readonly head: string | null;
  /** null: unknown (the event store did not answer). */
  readonly lagEvents: number | null;
  /** More than `lagEvents` (the count stops at LAG_CAP). */
  readonly lagCapped: boolean;
  readonly lagSeconds: number | null;
}

const LAG_CAP = 1000;

/** `?minPosition=lastImport`: the highest position a recorded bulk import reached (POST /v1/events/import). */
export const LAST_IMPORT = 'lastImport';

/** The snapshot position an answer declares itself (RFM: `run.position`), if any. */
function declaredPosition(body: unknown): bigint | null | undefined {
  const run = body !== null && typeof body === 'object' ? (body as { run?: { position?: unknown } }).run : undefined;
  if (!run || typeof run !== 'object' || !('position' in run)) return undefined;
  return typeof run.position === 'string' ? BigInt(run.position) : null;
}

@Injectable()
export class FreshnessInterceptor implements NestInterceptor {
  /** One head read in flight at a time, shared by the requests that arrive meanwhile. */
  private head: Promise<{ position: bigint; created: Date } | null> | null = null;

  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<Request>();
    const res = context.switchToHttp().getResponse<Response>();
    const allowStale = req.query.allowStale === 'true';
    // The headers are set before the answer's rows are read: a streamed answer (CSV export) writes
    // them with its first bytes, and the position, read first, is a lower bound of what the rows hold.
    return from(this.before(req.query.minPosition, allowStale, res)).pipe(
      switchMap((minPosition) =>
        next.handle().pipe(
          mergeMap(async (body) => {
            const declared = declaredPosition(body);
            if (declared === undefined) return body;
            if (minPosition !== undefined && (declared === null || declared < minPosition)) {
              // A snapshot older than the caller's write: waiting for the projections does not make it newer.
              if (!allowStale) throw staleRead(minPosition, `this answer is the RFM run of position ${declared ?? 'none'}, before ${minPosition}; start a new run (POST /v1/rfm/runs), or pass allowStale=true`);
              res.setHeader('X-Cairn-Stale', 'true');
            }
            setFreshnessHeaders(res, await this.freshness(declared));
            return body;
          }),
        ),
      ),
    );
  }

  private async before(query: unknown, allowStale: boolean, res: Response): Promise<bigint | undefined> {
    let minPosition: bigint | undefined;
    if (query === LAST_IMPORT) {
      // The position the last recorded bulk import reached; none recorded: nothing to wait for, and the answer says so.
      minPosition = (await lastImportPosition(this.runtime.readStore.db)) ?? undefined;
      res.setHeader('X-Cairn-Min-Position', minPosition === undefined ? 'none' : minPosition.toString());
    } else minPosition = parseMinPosition(query);
    if (await awaitPosition(this.runtime, minPosition, allowStale)) res.setHeader('X-Cairn-Stale', 'true');
    const statuses = await this.runtime.projections.statuses();
    let position: bigint | null = statuses.length === 0 ? null : statuses[0]!.checkpoint;
    for (const s of statuses) if (s.checkpoint === null || (position !== null && s.checkpoint < position)) position = s.checkpoint;
    setFreshnessHeaders(res, await this.freshness(position));
    return minPosition;
  }

  private readHead(): Promise<{ position: bigint; created: Date } | null> {
    this.head ??= this.runtime.events.lastCairnEvent().finally(() => {
      this.head = null;
    });
    return this.head;
  }

  /**
   * Where `position` stands against the head of the log. The answer comes from the read store, so
   * an event store that fails or is slow (past CAIRN_HEAD_WAIT_MS) does not fail it: head and lag are
   * then `unknown`.
   */
  async freshness(position: bigint | null): Promise<Freshness> {
    const p = position === null ? null : position.toString();
    const unknown: Freshness = { position: p, head: 'unknown', lagEvents: null, lagCapped: false, lagSeconds: null };
    const bounded = <T>(work: Promise<T>) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), this.runtime.config.headWaitMs);
      });
      return Promise.race([work.catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
    };
    const head = await bounded(this.readHead());
    if (head === undefined) return unknown;
    const base = { position: p, head: head === null ? null : head.position.toString() };
    if (head === null || (position !== null && position >= head.position)) return { ...base, lagEvents: 0, lagCapped: false, lagSeconds: 0 };
    const lag = (await bounded(this.runtime.events.lagAfter([position], LAG_CAP)))?.[0];
    if (lag === undefined) return { ...unknown, head: base.head };
    const seconds = lag.oldestCreated ? Math.max(0, (Date.now() - lag.oldestCreated.getTime()) / 1000) : 0;
    return { ...base, lagEvents: lag.count, lagCapped: lag.capped, lagSeconds: seconds };
  }
}

function setFreshnessHeaders(res: Response, f: Freshness): void {
  res.setHeader('X-Cairn-Position', f.position ?? 'none');
  res.setHeader('X-Cairn-Head', f.head ?? 'none');
  res.setHeader('X-Cairn-Lag-Events', f.lagEvents === null ? 'unknown' : f.lagCapped ? `${f.lagEvents}+` : String(f.lagEvents));
  res.setHeader('X-Cairn-Lag-Seconds', f.lagSeconds === null ? 'unknown' : f.lagSeconds.toFixed(3));
}

/**
 * A read endpoint: waits for `?minPosition=` and answers with its freshness headers (see the top
 * of this file); documents both in the OpenAPI document.
 */
export function ReadAnswer() {
  return applyDecorators(UseInterceptors(FreshnessInterceptor), ApiReadYourWrites());
}
