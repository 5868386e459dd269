/**
 * Freshness of read answers over HTTP (apps/api/src/read-your-writes.ts): every read endpoint of
 * the OpenAPI document takes minPosition and answers with the position it reflects and its lag; an
 * analytics call made right after an import either waits and answers for every imported row or is
 * a 409 CAIRN.STALE_READ, never a silently partial answer; `cairn clv fit` says plainly when it
 * has no position to wait for.
 */
import { randomUUID } from 'crypto';
import { PassThrough } from 'stream';
import { clvCommand } from '../../cli/src/clv';
import { importNdjson } from '../../cli/src/import-ndjson';
import { startCairn, type TestCairn } from '../../../test/support/cairn';

const auth = (cairn: TestCairn) => ({ authorization: `Bearer ${cairn.adminKey}`, 'content-type': 'application/json' });
const purchase = (customerId: string, at: string, totalMinor: number) => ({
  id: randomUUID(), type: 'purchase', customerId, occurredAt: at, channel: 'web', orderId: `o-${randomUUID()}`, currency: 'USD',
  items: [{ productId: 'p', quantity: 1, unitPriceMinor: totalMinor }], totalMinor,
});

/** Three rounds of: import 600 purchases of 300 new customers, then at once KPIs of their year with minPosition=lastImport. */
async function importThenRead(cairn: TestCairn): Promise<string[]> {
  const call = (path: string) => fetch(`${cairn.url}${path}`, { headers: auth(cairn) });
  const outcomes: string[] = [];
  for (let round = 0; round < 3; round++) {
    const year = 2001 + round;
    const customers = Array.from({ length: 300 }, (_, i) => `fresh-${round}-${i}-${randomUUID()}`);
    const lines = customers.flatMap((c, i) => [purchase(c, `${year}-03-01T12:00:00Z`, 1000 + i), purchase(c, `${year}-06-01T12:00:00Z`, 500)]).map((e) => `${JSON.stringify(e)}\n`);
    const imported = await importNdjson(lines, { url: cairn.url, key: cairn.adminKey });
    expect(imported).toMatchObject({ accepted: 600, rejected: 0 });
    // At once, as `cairn clv fit` does by default: wait for the last import's position.
    const res = await call(`/v1/metrics/kpis?from=${year}-01-01&to=${year}-12-31&minPosition=lastImport`);
    const body = await res.json();
    expect(res.headers.get('x-cairn-min-position')).toBe(imported.position);
    if (res.status === 409) {
      expect(body.error).toMatchObject({ code: 'CAIRN.STALE_READ', minPosition: imported.position });
      outcomes.push('stale');
      continue;
    }
    expect(res.status).toBe(200);
    expect(BigInt(res.headers.get('x-cairn-position')!)).toBeGreaterThanOrEqual(BigInt(imported.position!));
    expect({ customers: body.customers, orders: body.orders }).toEqual({ customers: 300, orders: 600 });
    outcomes.push('complete');
  }
  return outcomes;
}

const HEADERS = ['x-cairn-position', 'x-cairn-head', 'x-cairn-lag-events', 'x-cairn-lag-seconds'];

describe('freshness on every read answer', () => {
  let cairn: TestCairn;
  const call = (method: string, path: string, body?: unknown) => fetch(`${cairn.url}${path}`, { method, headers: auth(cairn), ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

  beforeAll(async () => {
    // The headers must be numbers here, not `unknown`: give the head read all the time a busy machine needs.
    cairn = await startCairn({ env: { CAIRN_HEAD_WAIT_MS: '30000' } });
  }, 60_000);
  afterAll(async () => {
    await cairn?.close();
  });

  it('cairn clv fit with no import recorded says plainly that the answer may be stale', async () => {
    // Events sent through POST /v1/events, not an import: there is no import position to wait for.
    const events = ['a', 'b'].flatMap((c) => [purchase(`fresh-${c}-${randomUUID()}`, '2020-03-01T12:00:00Z', 1000)]);
    const sent = await call('POST', '/v1/events', { events });
    expect(sent.status).toBe(202);
    // Folded first (else the fit finds no purchase yet): the warning is about the missing import record, not a race.
    const { position } = (await sent.json()) as { position: { commit: string } };
    expect((await call('GET', `/v1/metrics/kpis?minPosition=${position.commit}`)).status).toBe(200);
    const err = new PassThrough();
    let said = '';
    err.on('data', (c) => (said += c));
    await clvCommand({ calibrationEnd: '2020-12-31', unit: 'week', json: true }, { url: cairn.url, key: cairn.adminKey }, { out: new PassThrough(), err });
    expect(said).toMatch(/^no import recorded on this Cairn and no --min-position: the answer may be stale \(reflects log position \S+, \S+ events behind the head\)\n$/);
  });

  it('an analytics call right after an import waits and answers for every imported row, or says it is stale (409)', async () => {
    console.log(`analytics right after an import (CAIRN_READ_WAIT_MS 60000): ${(await importThenRead(cairn)).join(', ')}`);
  }, 120_000);

  it('every read endpoint takes minPosition and answers with its position and lag', async () => {
    const customer = `fresh-reader-${randomUUID()}`;
    expect((await call('PUT', '/v1/loyalty/program', {
      program: {
        currency: 'USD', earn: { pointsPerUnit: 1, unitMinor: 100, rounding: 'floor' }, pendingDays: 0, expiry: { mode: 'none' }, returns: { negativeBalance: 'allow' },
        tiers: { basis: 'points', window: { kind: 'rolling', days: 365 }, downgrade: 'end-of-period', levels: [{ name: 'Bronze', threshold: 0, multiplier: 1 }] },
      },
      effectiveFrom: '2000-01-01T00:00:00Z',
    })).status).toBe(200);
    const segment = await (await call('POST', '/v1/segments', { name: 'buyers', condition: { field: 'orders', op: '>=', value: 1 } })).json();
    const ingest = await (await call('POST', '/v1/events', { events: [purchase(customer, new Date(Date.now() - 86_400_000).toISOString(), 2500)] })).json();
    const position: string = ingest.position.commit;
    // A run reflects what the projections had folded when it started: let them reach the write first.
    expect((await call('GET', `/v1/customers/${customer}?minPosition=${position}`)).status).toBe(200);
    expect((await call('POST', '/v1/rfm/runs', { asOf: new Date().toISOString(), windowDays: 365 })).status).toBe(201);

    // The read operations are the GETs the OpenAPI document gives a minPosition.
    const doc = await (await fetch(`${cairn.url}/docs/openapi.json`)).json();
    const reads = Object.entries(doc.paths as Record<string, Record<string, { parameters?: { name: string }[] }>>)
      .filter(([, ops]) => ops.get?.parameters?.some((p) => p.name === 'minPosition'))
      .map(([path]) => path)
      .sort();
    expect(reads).toEqual([
      '/v1/customers', '/v1/customers/{id}', '/v1/customers/{id}/segments', '/v1/customers/{id}/value', '/v1/loyalty/{customerId}', '/v1/loyalty/{customerId}/explain', '/v1/loyalty/{customerId}/ledger',
      '/v1/metrics/clv', '/v1/metrics/kpis', '/v1/metrics/retention', '/v1/rfm', '/v1/rfm/history/{customerId}', '/v1/rfm/{segment}/customers',
      '/v1/segments', '/v1/segments/{id}', '/v1/segments/{id}/members', '/v1/segments/{id}/sizes',
    ]);
    const values: Record<string, string> = { id: customer, customerId: customer, segment: 'new_customers' };
    for (const path of reads) {
      const concrete = path.startsWith('/v1/segments/') ? path.replace('{id}', segment.id) : path.replace(/\{(\w+)\}/g, (_, k: string) => values[k]!);
      const res = await call('GET', `${concrete}${concrete.includes('?') ? '&' : '?'}minPosition=${position}`);
      expect([path, res.status]).toEqual([path, 200]);
      for (const h of HEADERS) expect([path, h, res.headers.get(h)]).toEqual([path, h, expect.stringMatching(/^(\d+(\.\d+)?\+?|none)$/)]);
      expect([path, BigInt(res.headers.get('x-cairn-position')!) >= BigInt(position)]).toEqual([path, true]);
      await res.arrayBuffer();
    }

    // An RFM answer reflects its run: a write after the run is a stale read there, whatever the projections reached.
    const later = await (await call('POST', '/v1/events', { events: [purchase(customer, new Date().toISOString(), 100)] })).json();
    const rfm = await call('GET', `/v1/rfm?minPosition=${later.position.commit}`);
    expect(rfm.status).toBe(409);
    expect((await rfm.json()).error.code).toBe('CAIRN.STALE_READ');
    const allowed = await call('GET', `/v1/rfm?minPosition=${later.position.commit}&allowStale=true`);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('x-cairn-stale')).toBe('true');
    const run = (await allowed.json()).run;
    expect(allowed.headers.get('x-cairn-position')).toBe(run.position);
    expect(BigInt(run.position)).toBeLessThan(BigInt(later.position.commit));

    // A bad minPosition is a 400 naming it, on every read.
    const bad = await call('GET', '/v1/metrics/kpis?minPosition=soon');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.fields[0].field).toBe('minPosition');
  }, 60_000);
});

describe('freshness with no time to wait (CAIRN_READ_WAIT_MS=0)', () => {
  let cairn: TestCairn;
  beforeAll(async () => {
    cairn = await startCairn({ env: { CAIRN_READ_WAIT_MS: '0' } });
  }, 60_000);
  afterAll(async () => {
    await cairn?.close();
  });

  it('an analytics call right after an import is complete or a 409, never partial', async () => {
    console.log(`analytics right after an import (CAIRN_READ_WAIT_MS 0): ${(await importThenRead(cairn)).join(', ')}`);
  }, 120_000);
});
