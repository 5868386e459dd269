/**
 * RFM recomputation over the profiles read model (one profile per identity-resolved person), kept
 * as a history of runs. A run reads profiles page by page and writes its scores in short
 * transactions, so it never holds the write lock long enough to stall ingestion or the projector;
 * a run is served only once it is marked done.
 */
import { randomUUID } from 'crypto';
import type { Kysely } from 'kysely';
import {
  CairnError,
  ERROR_CODES,
  RFM_SEGMENTS,
  RFM_SEGMENT_LABELS,
  localDate,
  rfmInputOf,
  scoreRfm,
  type Profile,
  type RfmCustomerInput,
  type RfmSegment,
} from '@cairn/domain';
import { decodeCursor, encodeCursor, readCheckpoint, type ReadModelSchema, type ReadStore, type RfmRunsTable, type RfmScoresTable } from '@cairn/read-models';

export interface RfmRunRequest {
  readonly asOf: Date;
  readonly windowDays: number;
  readonly trigger: 'schedule' | 'demand';
  /** The shop's IANA timezone (the run's local date). */
  readonly timezone: string;
}

export interface RfmRun {
  readonly runId: string;
  readonly asOf: string;
  readonly windowDays: number;
  readonly trigger: string;
  readonly localDate: string;
  readonly status: string;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly customers: number;
  readonly durationMs: number | null;
  /**
   * The log position the run reflects: the lower of the profiles' and the analytics facts'
   * checkpoints when it started (null: nothing folded yet, or a run from before this was kept).
   */
  readonly position: string | null;
}

const READ_PAGE = 5000;
const WRITE_TX_ROWS = 5000;
const INSERT_ROWS = 500;

function toRun(r: RfmRunsTable): RfmRun {
  return {
    runId: r.run_id,
    asOf: r.as_of,
    windowDays: Number(r.window_days),
    trigger: r.trigger,
    localDate: r.local_date,
    status: r.status,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    customers: Number(r.customers),
    durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
    position: r.position ?? null,
  };
}

/**
 * Refunds by orderId of the returns that occurred after `asOf` (from the analytics facts, which
 * keep each return dated): the profile nets every return it has seen, so a run as of a past
 * instant adds these back. Order ids are the shop's, one order per id.
 */
async function refundsAfterInstant(db: Kysely<ReadModelSchema>, asOf: Date): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('analytics_facts')
    .select(['order_id', (eb) => eb.fn.sum<number | string>('amount_minor').as('refund')])
    .where('kind', '=', 'return')
    .where('occurred_ms', '>', asOf.getTime())
    .where('order_id', 'is not', null)
    .groupBy('order_id')
    .execute();
  return new Map(rows.map((r) => [r.order_id!, Number(r.refund)]));
}

/** Scores every customer with an order in the window; returns the finished run. */
export async function runRfm(store: ReadStore, req: RfmRunRequest): Promise<RfmRun> {
  const started = Date.now();
  const runId = randomUUID();
  const asOf = req.asOf.toISOString();
  const checkpoints = await Promise.all(['profiles', 'analytics'].map((p) => readCheckpoint(store.db, p)));
  const position = checkpoints.some((c) => c === null) ? null : checkpoints.reduce((a, c) => (c! < a! ? c : a))!.toString();
  await store.transaction((trx) =>
    trx
      .insertInto('rfm_runs')
      .values({
        run_id: runId,
        as_of: asOf,
        window_days: req.windowDays,
        trigger: req.trigger,
        local_date: localDate(req.asOf, req.timezone),
        status: 'running',
        started_at: new Date(started).toISOString(),
        finished_at: null,
        customers: 0,
        duration_ms: null,
        position,
      })
      .execute(),
  );
  try {
    const refundsAfter = await refundsAfterInstant(store.db, req.asOf);
    const inputs: RfmCustomerInput[] = [];
    let after: string | null = null;
    for (;;) {
      let q = store.db.selectFrom('profiles').select(['customer_id', 'doc']).orderBy('customer_id').limit(READ_PAGE);
      if (after !== null) q = q.where('customer_id', '>', after);
      const rows = await q.execute();
      for (const r of rows) {
        const input = rfmInputOf(JSON.parse(r.doc) as Profile, req, refundsAfter);
        if (input) inputs.push(input);
      }
      if (rows.length < READ_PAGE) break;
      after = rows[rows.length - 1]!.customer_id;
      // Let other work (HTTP, projector batches) in between pages.
      await new Promise((r) => setImmediate(r));
    }
    const scores = scoreRfm(inputs, req);
    for (let i = 0; i < scores.length; i += WRITE_TX_ROWS) {
      const part = scores.slice(i, i + WRITE_TX_ROWS);
      await store.transaction(async (trx) => {
        for (let j = 0; j < part.length; j += INSERT_ROWS) {
          await trx
            .insertInto('rfm_scores')
            .values(
              part.slice(j, j + INSERT_ROWS).map((s) => ({
                run_id: runId,
                customer_id: s.customerId,
                r: s.r,
                f: s.f,
                m: s.m,
                segment: s.segment,
                recency_days: s.recencyDays,
                orders: s.orders,
                net_minor: s.netMinor,
                last_order_at: s.lastOrderAt,
              })),
            )
            .execute();
        }
      });
      await new Promise((r) => setImmediate(r));
    }
    const finished = Date.now();
    await store.transaction((trx) =>
      trx
        .updateTable('rfm_runs')
        .set({ status: 'done', finished_at: new Date(finished).toISOString(), customers: scores.length, duration_ms: finished - started })
        .where('run_id', '=', runId)
        .execute(),
    );
    return (await getRfmRun(store.db, runId))!;
  } catch (err) {
    await store
      .transaction((trx) => trx.updateTable('rfm_runs').set({ status: 'failed', finished_at: new Date().toISOString() }).where('run_id', '=', runId).execute())
      .catch(() => undefined);
    throw err;
  }
}

export async function getRfmRun(db: Kysely<ReadModelSchema>, runId: string): Promise<RfmRun | null> {
  const row = await db.selectFrom('rfm_runs').selectAll().where('run_id', '=', runId).executeTakeFirst();
  return row ? toRun(row) : null;
}

/** The latest finished run (by as-of, then finish time). */
export async function latestRfmRun(db: Kysely<ReadModelSchema>): Promise<RfmRun | null> {
  const row = await db
    .selectFrom('rfm_runs')
    .selectAll()
    .where('status', '=', 'done')
    .orderBy('finished_at', 'desc')
    .orderBy('run_id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? toRun(row) : null;
}

/** Whether the daily run for the shop-local date of `now` is still to be made. */
export async function scheduledRunDue(db: Kysely<ReadModelSchema>, now: Date, timezone: string): Promise<boolean> {
  const today = localDate(now, timezone);
  const row = await db
    .selectFrom('rfm_runs')
    .select('run_id')
    .where('trigger', '=', 'schedule')
    .where('local_date', '=', today)
    .where('status', 'in', ['running', 'done'])
    .executeTakeFirst();
  return row === undefined;
}

export interface RfmDistribution {
  readonly run: RfmRun;
  /** grid[r-1][f-1] = customers with that R and F score. */
  readonly grid: number[][];
  readonly segments: { segment: RfmSegment; label: string; customers: number }[];
}

async function runOrLatest(db: Kysely<ReadModelSchema>, runId: string | undefined): Promise<RfmRun> {
  const run = runId !== undefined ? await getRfmRun(db, runId) : await latestRfmRun(db);
  if (!run || run.status !== 'done') {
    throw new CairnError(ERROR_CODES.NOT_FOUND, runId !== undefined ? `no finished RFM run '${runId}'` : 'no RFM run yet: POST /v1/rfm/runs computes one');
  }
  return run;
}

export async function rfmDistribution(db: Kysely<ReadModelSchema>, runId?: string): Promise<RfmDistribution> {
  const run = await runOrLatest(db, runId);
  const rows = await db
    .selectFrom('rfm_scores')
    .select(['r', 'f', 'segment', (eb) => eb.fn.countAll<number>().as('n')])
    .where('run_id', '=', run.runId)
    .groupBy(['r', 'f', 'segment'])
    .execute();
  const grid = Array.from({ length: 5 }, () => [0, 0, 0, 0, 0]);
  const bySegment = new Map<string, number>();
  for (const row of rows) {
    grid[Number(row.r) - 1]![Number(row.f) - 1] += Number(row.n);
    bySegment.set(row.segment, (bySegment.get(row.segment) ?? 0) + Number(row.n));
  }
  return { run, grid, segments: RFM_SEGMENTS.map((s) => ({ segment: s, label: RFM_SEGMENT_LABELS[s], customers: bySegment.get(s) ?? 0 })) };
}

export interface RfmMember {
  readonly customerId: string;
  readonly r: number;
  readonly f: number;
  readonly m: number;
  readonly recencyDays: number;
  readonly orders: number;
  readonly netMinor: number;
  readonly lastOrderAt: string;
}

/** A stored score row as served (numbers may come back as strings from PostgreSQL numerics). */
function toMember(r: Omit<RfmScoresTable, 'run_id' | 'segment'>): RfmMember {
  return {
    customerId: r.customer_id,
    r: Number(r.r),
    f: Number(r.f),
    m: Number(r.m),
    recencyDays: Number(r.recency_days),
    orders: Number(r.orders),
    netMinor: Number(r.net_minor),
    lastOrderAt: r.last_order_at,
  };
}

export async function rfmSegmentMembers(
  db: Kysely<ReadModelSchema>,
  segment: RfmSegment,
  opts: { cursor?: string; limit: number; runId?: string },
): Promise<{ run: RfmRun; items: RfmMember[]; nextCursor: string | null }> {
  const run = await runOrLatest(db, opts.runId);
  const after = opts.cursor === undefined ? undefined : decodeCursor(opts.cursor);
  let q = db
    .selectFrom('rfm_scores')
    .selectAll()
    .where('run_id', '=', run.runId)
    .where('segment', '=', segment)
    .orderBy('customer_id')
    .limit(opts.limit + 1);
  if (after !== undefined) q = q.where('customer_id', '>', after);
  const rows = await q.execute();
  const page = rows.slice(0, opts.limit);
  return {
    run,
    items: page.map(toMember),
    nextCursor: rows.length > opts.limit ? encodeCursor(page[page.length - 1]!.customer_id) : null,
  };
}

/** A customer's scores in every finished run, oldest first. */
export async function rfmHistory(db: Kysely<ReadModelSchema>, customerId: string): Promise<(RfmMember & { runId: string; asOf: string; segment: string })[]> {
  const rows = await db
    .selectFrom('rfm_scores')
    .innerJoin('rfm_runs', 'rfm_runs.run_id', 'rfm_scores.run_id')
    .selectAll('rfm_scores')
    .select('rfm_runs.as_of')
    .where('rfm_scores.customer_id', '=', customerId)
    .where('rfm_runs.status', '=', 'done')
    .orderBy('rfm_runs.as_of')
    .orderBy('rfm_runs.finished_at')
    .execute();
  return rows.map((r) => ({
    runId: r.run_id,
    asOf: r.as_of,
    segment: r.segment,
    ...toMember(r),
  }));
}

/**
 * The daily RFM recomputation: checks every minute whether today's run (shop timezone) exists and
 * makes it when not, so a restart or a missed tick catches up on the next check. Runs where the
 * background work of the process runs (the projector thread under `cairn start`).
 */
export class DailyRfmSchedule {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly store: ReadStore,
    private readonly options: {
      readonly timezone: string;
      readonly windowDays: number;
      readonly log: (level: 'info' | 'error', msg: string, fields: Record<string, unknown>) => void;
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), 60_000);
    this.timer.unref();
    this.tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private tick(): void {
    if (this.running) return;
    const { timezone, windowDays, log } = this.options;
    this.running = (async () => {
      const now = new Date();
      if (!(await scheduledRunDue(this.store.db, now, timezone))) return;
      const run = await runRfm(this.store, { asOf: now, windowDays, trigger: 'schedule', timezone });
      log('info', 'daily RFM recomputed', { runId: run.runId, customers: run.customers, durationMs: run.durationMs });
    })()
      .catch((err: unknown) => log('error', 'daily RFM recomputation failed', { err }))
      .finally(() => {
        this.running = null;
      });
  }
}
