/**
 * Retention after a merge counts one person, over HTTP on an in-process Cairn (embedded node, the
 * projector, SQLite and PostgreSQL read stores): two customers with purchases, merged by
 * POST /v1/identity/merges, count once in retention, the KPIs, RFM and a customer's value; the
 * unmerge (DELETE) makes them two again, every answer as before. docs/metrics.md and
 * docs/identity.md show this spec's own answers.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { startCairn, type TestCairn } from '../../../../test/support/cairn';
import { e2eReadModels } from '../../../../test/support/read-stores';

const doc = (file: string, block: string): unknown => {
  const text = readFileSync(join(__dirname, '../../../../docs', file), 'utf8');
  const shown = new RegExp(`<!-- ${block}:begin -->\\s*\`\`\`json\\n([\\s\\S]*?)\`\`\`\\s*<!-- ${block}:end -->`).exec(text);
  if (shown === null) throw new Error(`docs/${file} has no block ${block}`);
  return JSON.parse(shown[1]!);
};

const purchase = (customerId: string, orderId: string, occurredAt: string, totalMinor: number) => ({
  type: 'purchase',
  customerId,
  occurredAt,
  channel: 'web',
  orderId,
  currency: 'USD',
  items: [{ productId: 'sku-1', quantity: 1, unitPriceMinor: totalMinor }],
  totalMinor,
});

describe.each(e2eReadModels('e2e_anpersons'))('analytics count persons over HTTP (%s)', (name, prepare) => {
  let cairn: TestCairn;
  let cleanup: () => Promise<void>;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${cairn.url}${path}`, { method, headers: { authorization: `Bearer ${cairn.adminKey}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: res.status, body: await res.json() };
  };

  beforeAll(async () => {
    const rm = await prepare();
    cleanup = rm.cleanup;
    cairn = await startCairn({ env: { CAIRN_TIMEZONE: 'UTC' }, ...(rm.readModel ? { readModel: rm.readModel } : {}) });
  }, 120_000);
  afterAll(async () => {
    await cairn?.close();
    await cleanup?.();
  });

  it('retention after a merge counts one person; the unmerge restores two', async () => {
    const ingest = await call('POST', '/v1/events', {
      events: [
        purchase('c-1001', 'o-1', '2026-01-12T10:00:00Z', 4000),
        purchase('c-2002', 'o-2', '2026-02-09T10:00:00Z', 2500),
        purchase('c-1001', 'o-3', '2026-03-03T10:00:00Z', 1500),
      ],
    });
    expect(ingest.status).toBe(202);
    const position = ingest.body.position.commit as string;
    const retention = async (minPosition = '') => {
      const r = await call('GET', `/v1/metrics/retention?period=month&asOf=2026-04-30${minPosition ? `&minPosition=${minPosition}` : ''}`);
      expect(r.status).toBe(200);
      return r.body;
    };
    const kpis = async () => {
      const r = await call('GET', '/v1/metrics/kpis?from=2026-01-01&to=2026-04-30');
      expect(r.status).toBe(200);
      const { customers, newCustomers, orders, repeatPurchaseRate, purchaseFrequency, historicClv } = r.body;
      return { customers, newCustomers, orders, repeatPurchaseRate, purchaseFrequency, historicClv };
    };
    const rfm = async () => {
      const r = await call('POST', '/v1/rfm/runs', { asOf: '2026-04-30T23:59:59Z', windowDays: 365 });
      expect(r.status).toBe(201);
      return r.body.customers as number;
    };
    const value = async (id: string) => {
      const r = await call('GET', `/v1/customers/${id}/value?calibrationEnd=2026-04-30&unit=week`);
      expect(r.status).toBe(200);
      return { customerId: r.body.customerId, historic: r.body.historic };
    };

    const before = await retention(position);
    expect(before.cohorts.map((c: { cohort: string; size: number }) => [c.cohort, c.size])).toEqual([
      ['2026-01', 1],
      ['2026-02', 1],
    ]);
    const kpisBefore = await kpis();
    expect(kpisBefore).toMatchObject({ customers: 2, newCustomers: 2, orders: 3, repeatPurchaseRate: 0.5 });
    expect(await rfm()).toBe(2);
    const valueBefore = await value('c-2002');
    expect(valueBefore).toMatchObject({ customerId: 'c-2002', historic: { orders: 1, netMinor: 2500 } });

    const merge = await call('POST', '/v1/identity/merges', { survivorId: 'c-1001', mergedId: 'c-2002', reason: 'same person, two accounts' });
    expect(merge.status).toBe(201);
    // The next answer already counts one person: nothing is rebuilt.
    const merged = await retention();
    expect(merged.cohorts.map((c: { cohort: string; size: number }) => [c.cohort, c.size])).toEqual([['2026-01', 1]]);
    const kpisMerged = await kpis();
    expect(kpisMerged).toMatchObject({ customers: 1, newCustomers: 1, orders: 3, repeatPurchaseRate: 1, purchaseFrequency: 3, historicClv: { customers: 1, netMinor: 8000 } });
    expect(await rfm()).toBe(1);
    const history = await call('GET', '/v1/rfm/history/c-2002');
    expect(history.body.customerId).toBe('c-1001');
    expect(history.body.history.at(-1)).toMatchObject({ orders: 3, netMinor: 8000 });
    const valueMerged = await value('c-2002');
    expect(valueMerged).toEqual(await value('c-1001'));
    expect(valueMerged).toMatchObject({ customerId: 'c-1001', historic: { orders: 3, grossMinor: 8000, netMinor: 8000, firstPurchaseAt: '2026-01-12T10:00:00.000Z' } });
    const clv = await call('GET', '/v1/metrics/clv?calibrationEnd=2026-04-30&unit=week');
    expect(clv.body.customers).toBe(1);

    // The docs show these answers.
    if (name === 'SQLite') {
      expect(doc('metrics.md', 'persons-retention-before')).toEqual(before);
      expect(doc('metrics.md', 'persons-retention-merged')).toEqual(merged);
      expect(doc('metrics.md', 'persons-kpis')).toEqual({ before: kpisBefore, merged: kpisMerged });
      expect(doc('identity.md', 'persons-value')).toEqual(valueMerged);
    }

    const unmerge = await call('DELETE', `/v1/identity/merges/${merge.body.mergeId}`);
    expect(unmerge.status).toBe(200);
    expect(await retention()).toEqual(before);
    expect(await kpis()).toEqual(kpisBefore);
    expect(await rfm()).toBe(2);
    expect(await value('c-2002')).toEqual(valueBefore);
    expect((await call('GET', '/v1/metrics/clv?calibrationEnd=2026-04-30&unit=week')).body.customers).toBe(2);
  }, 120_000);
});
