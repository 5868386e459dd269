/**
 * `cairn clv fit --calibration-end YYYY-MM-DD …` (options in main.ts): prints the fitted BG/NBD and Gamma-Gamma
 * parameters, from the API (GET /v1/metrics/clv) or — with --file — straight from a CDNOW file
 * without a server (the models are pure; used to fit the 69,659-row master in seconds).
 */
import { readFileSync } from 'fs';
import { calibrationSummaries, fitClvModel, isoToDay, LocalCalendar, parseCdnow, type Facts } from '@cairn/domain';
import type { MainIo } from './main';
import type { Connection } from './ops-commands';

export interface ClvFitOutput {
  customers: number;
  bgnbd: { r: number; alpha: number; a: number; b: number; logLikelihood: number };
  gammaGamma: { p: number; q: number; v: number } | null;
}

/** What a read answer's freshness headers said (apps/api/src/read-your-writes.ts). */
export interface AnswerFreshness {
  /** The position waited for; null when none was (no --min-position and no import recorded). */
  readonly waitedFor: string | null;
  readonly position: string | null;
  readonly lagEvents: string | null;
}

export async function clvFitViaApi(opts: { url: string; key: string; calibrationEnd: string; unit: string; tz?: string; minPosition?: string }): Promise<{ fit: ClvFitOutput; freshness: AnswerFreshness }> {
  const q = new URLSearchParams({ calibrationEnd: opts.calibrationEnd, unit: opts.unit, minPosition: opts.minPosition ?? 'lastImport' });
  if (opts.tz) q.set('tz', opts.tz);
  const res = await fetch(`${opts.url.replace(/\/$/, '')}/v1/metrics/clv?${q}`, { headers: { authorization: `Bearer ${opts.key}`, accept: 'application/json' } });
  const body = (await res.json()) as ClvFitOutput & { error?: { code: string; message: string } };
  if (res.status === 409 && body.error?.code === 'CAIRN.STALE_READ') throw new Error(`stale: ${body.error.message}`);
  if (res.status !== 200) throw new Error(`GET /v1/metrics/clv answered ${res.status}: ${JSON.stringify(body)}`);
  const header = (name: string) => res.headers.get(name);
  const waited = opts.minPosition ?? header('X-Cairn-Min-Position');
  return {
    fit: pick(body),
    freshness: { waitedFor: waited === 'none' ? null : (waited ?? null), position: header('X-Cairn-Position'), lagEvents: header('X-Cairn-Lag-Events') },
  };
}

export function clvFitFromFile(file: string, calibrationEnd: string, unit: 'day' | 'week'): ClvFitOutput {
  const { rows, errors } = parseCdnow(readFileSync(file, 'utf8'));
  if (errors.length > 0) throw new Error(`${file}: ${errors[0]}`);
  const calendar = new LocalCalendar('UTC');
  const facts: Facts = {
    orders: rows.map((r) => ({ customerId: r.customerId, orderId: String(r.line), at: Date.parse(`${r.date}T12:00:00Z`), totalMinor: r.totalMinor, currency: 'USD' })),
    returns: [],
    activity: [],
  };
  const day = isoToDay(calibrationEnd)!;
  const model = fitClvModel(calibrationSummaries(facts, { calendar, calibrationEndDay: day, unit, currency: 'USD' }), 'USD');
  return pick({ customers: model.customers, bgnbd: model.bgnbd, gammaGamma: model.gammaGamma });
}

function pick(b: { customers: number; bgnbd: ClvFitOutput['bgnbd']; gammaGamma: ClvFitOutput['gammaGamma'] }): ClvFitOutput {
  const { r, alpha, a, b: bb, logLikelihood } = b.bgnbd;
  return { customers: b.customers, bgnbd: { r, alpha, a, b: bb, logLikelihood }, gammaGamma: b.gammaGamma === null ? null : { p: b.gammaGamma.p, q: b.gammaGamma.q, v: b.gammaGamma.v } };
}

/** One line for stderr: which position the answer reflects, and plainly when it may be stale. */
export function freshnessNote(f: AnswerFreshness): string {
  const at = `reflects log position ${f.position ?? 'none'}, ${f.lagEvents ?? '?'} events behind the head`;
  if (f.waitedFor === null) return `no import recorded on this Cairn and no --min-position: the answer may be stale (${at})\n`;
  return `includes every event up to position ${f.waitedFor} (${at})\n`;
}

/** `cairn clv fit`: from the API with `conn`, or offline from `--file` when `conn` is null. */
export async function clvCommand(
  f: { calibrationEnd: string; unit: 'week' | 'day'; json?: boolean; tz?: string; minPosition?: string; file?: string },
  conn: Connection | null,
  io: Pick<MainIo, 'out' | 'err'>,
): Promise<void> {
  const { calibrationEnd, unit } = f;
  if (isoToDay(calibrationEnd) === undefined) throw new Error(`--calibration-end must be a date YYYY-MM-DD (got ${calibrationEnd})`);
  let out: ClvFitOutput;
  if (conn === null) out = clvFitFromFile(f.file!, calibrationEnd, unit);
  else {
    const { fit, freshness } = await clvFitViaApi({ ...conn, calibrationEnd, unit, tz: f.tz, minPosition: f.minPosition });
    out = fit;
    io.err.write(freshnessNote(freshness));
  }
  if (f.json) io.out.write(`${JSON.stringify(out)}\n`);
  else {
    const n = (x: number) => x.toPrecision(4);
    io.out.write(
      `customers ${out.customers}\nBG/NBD       r ${n(out.bgnbd.r)}  alpha ${n(out.bgnbd.alpha)}  a ${n(out.bgnbd.a)}  b ${n(out.bgnbd.b)}  LL ${out.bgnbd.logLikelihood.toFixed(1)}\n` +
        (out.gammaGamma ? `Gamma-Gamma  p ${n(out.gammaGamma.p)}  q ${n(out.gammaGamma.q)}  v ${n(out.gammaGamma.v)}\n` : 'Gamma-Gamma  (no repeat spend to fit)\n'),
    );
  }
}
