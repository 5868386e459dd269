/**
 * Analytics over HTTP: the CDNOW sample (6,919 rows, 2,357 customers) imported through the public
 * ingest path by `cairn import cdnow`, then the published BG/NBD fit read back from the API.
 */
import { existsSync } from 'fs';
import { join } from 'path';
import { importCdnow } from '../../../cli/src/import-cdnow';
import { clvFitViaApi } from '../../../cli/src/clv';
import { startCairn, type TestCairn } from '../../../../test/support/cairn';

// shared/ lies beside the project (the work tree, or CI's clone); the data are not in the repository.
const SAMPLE = [join(__dirname, '../../../../../shared/data/cdnow/CDNOW_sample.txt'), '/work/shared/data/cdnow/CDNOW_sample.txt'].find((f) => existsSync(f)) ?? 'shared/data/cdnow/CDNOW_sample.txt (not found beside the project)';

describe('analytics e2e on the CDNOW sample', () => {
  let cairn: TestCairn;
  let position: string;
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${cairn.url}${path}`, { headers: { authorization: `Bearer ${cairn.adminKey}`, ...headers } });

  beforeAll(async () => {
    cairn = await startCairn({ env: { CAIRN_TIMEZONE: 'America/New_York' } });
    const started = Date.now();
    const first = await importCdnow(SAMPLE, { url: cairn.url, key: cairn.adminKey, timezone: 'America/New_York' });
    console.log(`import of ${first.rows} rows: ${Date.now() - started} ms`);
    expect(first).toMatchObject({ rows: 6919, accepted: 6919, duplicate: 0, rejected: 0 });
    position = first.position!;
  }, 120_000);
  afterAll(async () => {
    await cairn?.close();
  });

  it('fits the published BG/NBD and Gamma-Gamma parameters over the API', async () => {
    const started = Date.now();
    const { fit } = await clvFitViaApi({ url: cairn.url, key: cairn.adminKey, calibrationEnd: '1997-09-30', unit: 'week', minPosition: position });
    console.log(`clv fit: ${Date.now() - started} ms`, JSON.stringify(fit));
    expect(fit.customers).toBe(2357);
    expect(fit.bgnbd.r).toBeCloseTo(0.243, 3);
    expect(fit.bgnbd.alpha).toBeCloseTo(4.414, 2);
    expect(fit.bgnbd.a).toBeCloseTo(0.793, 3);
    expect(fit.bgnbd.b).toBeCloseTo(2.426, 2);
    expect(fit.bgnbd.logLikelihood).toBeCloseTo(-9582.4, 1);
    expect(fit.gammaGamma!.p).toBeCloseTo(6.25, 2);
    expect(fit.gammaGamma!.q).toBeCloseTo(3.74, 2);
    expect(fit.gammaGamma!.v).toBeCloseTo(15.44, 1);
  });

  it('re-import is idempotent: every row duplicate, the fit unchanged', async () => {
    const again = await importCdnow(SAMPLE, { url: cairn.url, key: cairn.adminKey, timezone: 'America/New_York' });
    expect(again).toMatchObject({ rows: 6919, accepted: 0, duplicate: 6919, rejected: 0 });
    // No --min-position: the fit waits for the position the last import that appended reached.
    const { fit, freshness } = await clvFitViaApi({ url: cairn.url, key: cairn.adminKey, calibrationEnd: '1997-09-30', unit: 'week' });
    expect(freshness.waitedFor).toBe(position);
    expect(fit.customers).toBe(2357);
    expect(fit.bgnbd.logLikelihood).toBeCloseTo(-9582.4, 1);
  });

  it('retention by month: January 1997 cohort, cells after asOf null; CSV on request', async () => {
    const res = await get('/v1/metrics/retention?period=month&asOf=1997-05-15');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ period: 'month', returning: 'purchase', mode: 'bounded', timezone: 'America/New_York', asOf: '1997-05-15' });
    expect(body.cohorts.map((c: { cohort: string }) => c.cohort)).toEqual(['1997-01', '1997-02', '1997-03']);
    const jan = body.cohorts[0];
    expect(jan.cells[0]).toMatchObject({ k: 0, rate: 1 });
    expect(jan.cells[4]).toEqual({ k: 4, count: null, rate: null }); // May is not over on 15 May
    expect(body.cohorts.reduce((s: number, c: { size: number }) => s + c.size, 0)).toBe(2357);
    const csv = await get('/v1/metrics/retention?period=month&asOf=1997-05-15', { accept: 'text/csv' });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe('cohort,size,k,count,rate');
    expect(lines[1]).toMatch(/^1997-01,\d+,0,\d+,1$/);
  });

  it('KPIs over the first quarter of 1997', async () => {
    const res = await get('/v1/metrics/kpis?from=1997-01-01&to=1997-03-31');
    expect(res.status).toBe(200);
    const k = await res.json();
    expect(k.newCustomers).toBe(2357);
    expect(k.customers).toBe(2357);
    expect(k.currency).toBe('USD');
    expect(k.aovMinor).toBe(Math.round(k.grossMinor / k.orders));
    expect(k.lifecycle.map((l: { period: string }) => l.period)).toEqual(['1997-01', '1997-02', '1997-03']);
  });

  it("a customer's value has its own route beside GET /v1/customers/:id", async () => {
    const res = await get('/v1/customers/cdnow-00004/value?calibrationEnd=1997-09-30&unit=week&horizon=39');
    expect(res.status).toBe(200);
    const v = await res.json();
    expect(v.historic).toMatchObject({ orders: 4, grossMinor: 2933 + 2973 + 1496 + 2648, refundedMinor: 0, netMinor: 10_050, firstPurchaseAt: "1997-01-01T17:00:00.000Z" });
    // FHL's customer 1: x = 2, tx = 30.43, T = 38.86; 1.226 expected purchases in 39 weeks; P(alive) 0.7266.
    expect(v.predicted.frequency).toBe(2);
    expect(v.predicted.expectedPurchases).toBeCloseTo(1.226, 2);
    expect(v.predicted.pAlive).toBeCloseTo(0.7266, 3);
    expect(v.predicted.churnBand).toBe('low');
    expect(v.predicted.predictedClvMinor).toBeGreaterThan(0);
    const profile = await get('/v1/customers/cdnow-00004');
    expect(profile.status).toBe(200);
    expect((await profile.json()).orders).toBe(4);
    expect((await get('/v1/customers/nobody/value')).status).toBe(404);
  });

  it('bad parameters answer 400 naming the parameter', async () => {
    for (const [path, field] of [
      ['/v1/metrics/retention?period=year', 'period'],
      ['/v1/metrics/retention?tz=Mars/Olympus', 'tz'],
      ['/v1/metrics/retention?asOf=1997-02-30', 'asOf'],
      ['/v1/metrics/kpis?from=1997-04-01&to=1997-03-01', 'from'],
      ['/v1/metrics/clv?unit=month', 'unit'],
      ['/v1/metrics/clv?margin=2', 'margin'],
      ['/v1/customers/cdnow-00004/value?horizon=abc', 'horizon'],
    ] as const) {
      const res = await get(path);
      expect(res.status).toBe(400);
      const body = await res.json();
      expect(body.error.code).toBe('CAIRN.VALIDATION');
      expect(body.error.fields).toEqual([expect.objectContaining({ field })]);
    }
    expect((await fetch(`${cairn.url}/v1/metrics/kpis`)).status).toBe(401);
  });

  it('a purchase ingested after the first query is in the next answer (in-memory facts topped up)', async () => {
    const before = await (await get('/v1/metrics/kpis?from=1997-01-01&to=1997-03-31')).json();
    const res = await fetch(`${cairn.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cairn.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'purchase', customerId: 'late-1', occurredAt: '1997-03-15T12:00:00-05:00', channel: 'web', orderId: 'late-o1', currency: 'USD', items: [{ productId: 'p', quantity: 1, unitPriceMinor: 1234 }], totalMinor: 1234 }),
    });
    const { position } = await res.json();
    const after = await (await get(`/v1/metrics/kpis?from=1997-01-01&to=1997-03-31&minPosition=${position.commit}`)).json();
    expect(after.newCustomers).toBe(before.newCustomers + 1);
    expect(after.grossMinor).toBe(before.grossMinor + 1234);
  });
});
