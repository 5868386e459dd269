import { applyDecorators, Controller, Get, Headers, Inject, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { dayToIso, PERIOD_UNITS } from '@cairn/domain';
import { RequireScope } from '../auth/auth.guard';
import { ReadAnswer } from '../read-your-writes';
import { RUNTIME, type CairnRuntime } from '../runtime';
import { AnalyticsReader, customerValueView, type ClvParams } from './analytics.reader';
import { displayRate, retentionGrid, retentionGridCsvRows } from './retention-grid';
import { bad, calendarParam, dayParam, numberParam, oneOf, toCsv, wantsCsv } from './analytics.params';
import { ApiAnswer } from '../openapi/openapi';

/** Parses the CLV model parameters shared by /v1/metrics/clv and /v1/customers/:id/value. */
/** The query parameters clvParams reads, for the OpenAPI document (GET /v1/metrics/clv and /v1/customers/{id}/value). */
export const ApiClvQuery = () =>
  applyDecorators(
    ApiQuery({ name: 'calibrationEnd', required: false, description: 'YYYY-MM-DD, last local day of the calibration window (default today)' }),
    ApiQuery({ name: 'unit', required: false, enum: ['day', 'week'] }),
    ApiQuery({ name: 'horizon', required: false, description: 'prediction horizon in units (default 52 weeks / 365 days)' }),
    ApiQuery({ name: 'margin', required: false, description: '0..1 (default 1)' }),
    ApiQuery({ name: 'discountRate', required: false, description: 'annual, e.g. 0.1 (default)' }),
    ApiQuery({ name: 'tz', required: false }),
  );

export function clvParams(q: Record<string, unknown>, timezone: string): ClvParams {
  const calendar = calendarParam(q.tz, timezone);
  const unit = oneOf('unit', q.unit, ['day', 'week'] as const, 'week');
  return {
    calendar,
    calibrationEndDay: dayParam('calibrationEnd', q.calibrationEnd, calendar),
    unit,
    horizon: numberParam('horizon', q.horizon, unit === 'week' ? 52 : 365, 0, unit === 'week' ? 520 : 3650),
    margin: numberParam('margin', q.margin, 1, 0, 1),
    annualDiscountRate: numberParam('discountRate', q.discountRate, 0.1, 0, 10),
  };
}

@ApiTags('analytics')
@ApiBearerAuth()
@Controller('v1/metrics')
export class MetricsHttpController {
  constructor(
    @Inject(AnalyticsReader) private readonly reader: AnalyticsReader,
    @Inject(RUNTIME) private readonly runtime: CairnRuntime,
  ) {}

  @Get('retention')
  @RequireScope('read')
  @ApiOperation({ summary: 'Cohort retention: share of each cohort coming back k periods later; not-yet-observable cells are null' })
  @ApiQuery({ name: 'period', required: false, enum: ['week', 'month'] })
  @ApiQuery({ name: 'returning', required: false, enum: ['purchase', 'activity'] })
  @ApiQuery({ name: 'mode', required: false, enum: ['bounded', 'unbounded'] })
  @ApiQuery({ name: 'cohort', required: false, enum: ['first', 'recurring'] })
  @ApiQuery({ name: 'tz', required: false, description: 'IANA timezone (default: the shop timezone)' })
  @ApiQuery({ name: 'asOf', required: false, description: 'YYYY-MM-DD, last local day included (default today)' })
  @ApiAnswer(200, 'Retention', { csv: true })
  @ReadAnswer()
  @ApiQuery({ name: 'shape', required: false, enum: ['rows', 'grid'], description: 'grid: cohorts × period offsets (JSON and CSV); rows (default): a cell list per cohort' })
  async retention(@Query() q: Record<string, unknown>, @Headers('accept') accept: string | undefined, @Res({ passthrough: true }) res: Response) {
    const calendar = calendarParam(q.tz, this.runtime.config.timezone);
    const p = {
      period: oneOf('period', q.period, ['week', 'month'] as const, 'month'),
      returning: oneOf('returning', q.returning, ['purchase', 'activity'] as const, 'purchase'),
      mode: oneOf('mode', q.mode, ['bounded', 'unbounded'] as const, 'bounded'),
      cohort: oneOf('cohort', q.cohort, ['first', 'recurring'] as const, 'first'),
      calendar,
      asOfDay: dayParam('asOf', q.asOf, calendar),
    };
    const shape = oneOf('shape', q.shape, ['rows', 'grid'] as const, 'rows');
    const rows = await this.reader.retention(p);
    const grid = shape === 'grid' ? retentionGrid(rows) : undefined;
    if (wantsCsv(accept)) {
      res.type('text/csv');
      if (grid) {
        const csv = retentionGridCsvRows(grid);
        return toCsv(csv.header, csv.rows);
      }
      return toCsv(['cohort', 'size', 'k', 'count', 'rate'], rows.flatMap((r) => r.cells.map((c) => [r.cohort, r.size, c.k, c.count, displayRate(c.rate)])));
    }
    const meta = { period: p.period, returning: p.returning, mode: p.mode, cohort: p.cohort, timezone: calendar.timezone, asOf: dayToIso(p.asOfDay) };
    return grid ? { ...meta, shape, ...grid } : { ...meta, cohorts: rows };
  }

  @Get('kpis')
  @RequireScope('read')
  @ApiOperation({ summary: 'KPIs over [from, to] (local dates, inclusive): revenue, AOV, repeat rate, frequency, return rates, conversion, K-factor, reviews, historic CLV, lifecycle' })
  @ApiQuery({ name: 'from', required: false, description: 'YYYY-MM-DD (default: 29 days before to)' })
  @ApiQuery({ name: 'to', required: false, description: 'YYYY-MM-DD (default: today)' })
  @ApiQuery({ name: 'period', required: false, enum: ['day', 'week', 'month'], description: 'lifecycle periods (default month)' })
  @ApiQuery({ name: 'tz', required: false })
  @ApiAnswer(200, 'Kpis', { csv: true })
  @ReadAnswer()
  async kpis(@Query() q: Record<string, unknown>, @Headers('accept') accept: string | undefined, @Res({ passthrough: true }) res: Response) {
    const calendar = calendarParam(q.tz, this.runtime.config.timezone);
    const toDay = dayParam('to', q.to, calendar);
    const fromDay = q.from === undefined || q.from === '' ? toDay - 29 : dayParam('from', q.from, calendar);
    if (fromDay > toDay) throw bad('from', 'must not be after to');
    if (toDay - fromDay > 3660) throw bad('from', 'the window is at most 10 years');
    const period = oneOf('period', q.period, PERIOD_UNITS, 'month');
    if (period === 'day' && toDay - fromDay > 366) throw bad('period', 'day periods need a window of at most 366 days');
    const k = await this.reader.kpis(calendar, fromDay, toDay, period);
    if (wantsCsv(accept)) {
      res.type('text/csv');
      const flat: [string, unknown][] = [];
      const walk = (prefix: string, v: unknown) => {
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) for (const [key, inner] of Object.entries(v)) walk(prefix ? `${prefix}.${key}` : key, inner);
        else if (!Array.isArray(v)) flat.push([prefix, v]);
      };
      walk('', k);
      return toCsv(['metric', 'value'], flat);
    }
    return { from: dayToIso(fromDay), to: dayToIso(toDay), timezone: calendar.timezone, currency: this.runtime.config.currency, ...k };
  }

  @Get('clv')
  @RequireScope('read')
  @ApiOperation({ summary: 'BG/NBD + Gamma-Gamma fitted up to calibrationEnd; CSV (Accept: text/csv) lists every customer' })
  @ApiClvQuery()
  @ApiAnswer(200, 'ClvReport', { csv: true })
  @ReadAnswer()
  async clv(@Query() q: Record<string, unknown>, @Headers('accept') accept: string | undefined, @Res({ passthrough: true }) res: Response) {
    const p = clvParams(q, this.runtime.config.timezone);
    const report = await this.reader.clv(p);
    const values = this.reader.values(report, p).map(customerValueView);
    if (wantsCsv(accept)) {
      res.type('text/csv');
      const cols = ['customerId', 'frequency', 'recency', 'T', 'monetaryMinor', 'pAlive', 'churnRisk', 'churnBand', 'expectedPurchases', 'expectedSpendMinor', 'predictedClvMinor'] as const;
      return toCsv(cols, values.map((v) => cols.map((c) => v[c])));
    }
    const { bgnbd, gammaGamma } = report.model;
    const bands = { low: 0, medium: 0, high: 0 };
    const frequency: Record<string, number> = {};
    let purchases = 0;
    let clv = 0;
    for (const v of values) {
      bands[v.churnBand]++;
      const key = v.frequency >= 7 ? '7+' : String(v.frequency);
      frequency[key] = (frequency[key] ?? 0) + 1;
      purchases += v.expectedPurchases;
      clv += v.predictedClvMinor ?? 0;
    }
    return {
      customers: report.model.customers,
      calibrationEnd: dayToIso(p.calibrationEndDay),
      unit: p.unit,
      horizon: p.horizon,
      margin: p.margin,
      discountRate: p.annualDiscountRate,
      timezone: p.calendar.timezone,
      currency: this.runtime.config.currency,
      bgnbd: { r: bgnbd.r, alpha: bgnbd.alpha, a: bgnbd.a, b: bgnbd.b, logLikelihood: bgnbd.logLikelihood },
      gammaGamma: gammaGamma === null ? null : { p: gammaGamma.p, q: gammaGamma.q, v: gammaGamma.v, logLikelihood: gammaGamma.logLikelihood, customers: gammaGamma.customers },
      totals: { expectedPurchases: purchases, predictedClvMinor: Math.round(clv) },
      churnBands: bands,
      frequencyDistribution: frequency,
    };
  }
}
