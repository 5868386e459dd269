/**
 * The customer and analyst outputs behind the console, over HTTP: a customer's event timeline over
 * every linked id (paged), their segment memberships, the customers list's filters and CSV, the
 * retention grid (JSON and CSV) and RFM as CSV.
 */
import { startCairn, type TestCairn } from '../../../../test/support/cairn';

let cairn: TestCairn;
const DAY = 86_400_000;
const at = (daysAgo: number) => new Date(Date.now() - daysAgo * DAY).toISOString();

async function get(path: string, accept = 'application/json'): Promise<{ status: number; body: any; text: string; type: string | null }> {
  const res = await fetch(`${cairn.url}${path}`, { headers: { authorization: `Bearer ${cairn.adminKey}`, accept } });
  const text = await res.text();
  return { status: res.status, text, type: res.headers.get('content-type'), body: accept === 'text/csv' || !text ? undefined : JSON.parse(text) };
}

async function send(method: string, path: string, body: unknown): Promise<any> {
  const res = await fetch(`${cairn.url}${path}`, { method, headers: { authorization: `Bearer ${cairn.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

const purchase = (customerId: string, orderId: string, daysAgo: number, totalMinor: number) => ({
  type: 'purchase', customerId, orderId, occurredAt: at(daysAgo), channel: 'web', currency: 'USD',
  items: [{ productId: 'sku-1', quantity: 1, unitPriceMinor: totalMinor }], totalMinor,
});

beforeAll(async () => {
  cairn = await startCairn({ env: { CAIRN_SEGMENT_POLL_MS: '100' } });
  const events = [
    { type: 'view', anonymousId: 'v-ann', occurredAt: at(40), channel: 'web', productId: 'sku-1' },
    { type: 'view', anonymousId: 'v-ann', occurredAt: at(39), channel: 'web', productId: 'sku-2' },
    { type: 'identify', customerId: 'ann', anonymousId: 'v-ann', occurredAt: at(38), channel: 'web' },
    purchase('ann', 'ann-1', 37, 5000),
    purchase('ann', 'ann-2', 20, 7000),
    purchase('ann', 'ann-3', 5, 3000),
    purchase('bob', 'bob-1', 90, 1000),
    purchase('bo-x', 'box-1', 60, 2000),
    purchase('cy', 'cy-1', 300, 2500),
    purchase('cy', 'cy-2', 250, 2500),
  ];
  const { position } = await send('POST', '/v1/events', { events });
  await get(`/v1/customers/ann?minPosition=${position.commit}`);
  const segment = await send('POST', '/v1/segments', { name: 'Two or more orders', condition: { field: 'orders', op: '>=', value: 2 } });
  const deadline = Date.now() + 20_000;
  while (!(await get(`/v1/segments/${segment.id}`)).body.evaluated) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the segment to be evaluated');
    await new Promise((r) => setTimeout(r, 100));
  }
  await send('POST', '/v1/rfm/runs', {});
}, 60_000);

afterAll(async () => {
  await cairn?.close();
});

describe('GET /v1/customers/:id/events', () => {
  it('pages the timeline newest first over the customer id and the linked anonymous id, each event once', async () => {
    const all = await get('/v1/customers/ann/events?limit=200');
    expect(all.status).toBe(200);
    expect(all.body.streams).toEqual(['customer-ann', 'visitor-v-ann']);
    // One batch appends its streams in parallel: the log's order, not business time, orders the page.
    expect(all.body.items.map((e: { type: string }) => e.type).sort()).toEqual(['cairn.identify.v1', 'cairn.purchase.v1', 'cairn.purchase.v1', 'cairn.purchase.v1', 'cairn.view.v1', 'cairn.view.v1']);
    const positions = all.body.items.map((e: { position: string }) => BigInt(e.position));
    expect([...positions].sort((a, b) => (a > b ? -1 : 1))).toEqual(positions);
    expect(all.body.nextCursor).toBeNull();
    const paged: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page = await get(`/v1/customers/ann/events?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      paged.push(...page.body.items.map((e: { id: string }) => e.id));
      cursor = page.body.nextCursor;
    }
    expect(paged).toEqual(all.body.items.map((e: { id: string }) => e.id));
    const byStream = (s: string) => all.body.items.filter((e: { streamId: string }) => e.streamId === s);
    expect(byStream('customer-ann').map((e: { data: { orderId?: string } }) => e.data.orderId ?? null)).toEqual(['ann-3', 'ann-2', 'ann-1', null]);
    expect(byStream('visitor-v-ann').map((e: { data: { productId: string } }) => e.data.productId)).toEqual(['sku-2', 'sku-1']);
  });

  it('answers 404 for an unknown customer and 400 for a bad cursor or limit', async () => {
    expect((await get('/v1/customers/nobody/events')).status).toBe(404);
    const bad = await get('/v1/customers/ann/events?cursor=abc');
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toEqual([{ field: 'cursor', message: 'must be the nextCursor of a previous page' }]);
    expect((await get('/v1/customers/ann/events?limit=0')).status).toBe(400);
  });
});

it('GET /v1/customers/:id/segments lists the live memberships', async () => {
  const ann = await get('/v1/customers/ann/segments');
  expect(ann.body).toMatchObject({ customerId: 'ann', items: [{ name: 'Two or more orders', version: 1 }] });
  expect((await get('/v1/customers/bob/segments')).body.items).toEqual([]);
  expect((await get('/v1/customers/nobody/segments')).status).toBe(404);
});

describe('GET /v1/customers filters and CSV', () => {
  const ids = async (query: string) => {
    const out: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page = await get(`/v1/customers?${query}&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      out.push(...page.body.items.map((p: { customerId: string }) => p.customerId));
      cursor = page.body.nextCursor;
    }
    return out;
  };

  it('filters by id prefix, orders, net revenue and lifecycle stage, one item per page through the cursor', async () => {
    expect(await ids('idPrefix=bo')).toEqual(['bo-x', 'bob']);
    expect(await ids('minOrders=2')).toEqual(['ann', 'cy']);
    expect(await ids('minNetMinor=5000')).toEqual(['ann', 'cy']);
    expect(await ids('minOrders=2&stage=active')).toEqual(['ann']);
    expect(await ids('stage=lapsed')).toEqual(['cy']);
    expect(await ids('idPrefix=zz')).toEqual([]);
  });

  it('exports every match as CSV', async () => {
    const csv = await get('/v1/customers?minOrders=2', 'text/csv');
    expect(csv.type).toMatch(/^text\/csv/);
    expect(csv.text.split('\r\n')).toEqual([
      'customerId,orders,grossMinor,refundedMinor,netMinor,aovMinor,currency,firstSeenAt,lastSeenAt',
      expect.stringMatching(/^ann,3,15000,0,15000,5000,USD,/),
      expect.stringMatching(/^cy,2,5000,0,5000,2500,USD,/),
      '',
    ]);
  });

  it('refuses bad filters naming the field', async () => {
    for (const [q, field] of [['minOrders=-1', 'minOrders'], ['stage=gone', 'stage'], ['idPrefix=%3Dx', 'idPrefix'], ['minNetMinor=1.5', 'minNetMinor']]) {
      const res = await get(`/v1/customers?${q}`);
      expect(res.status).toBe(400);
      expect(res.body.error.fields[0].field).toBe(field);
    }
  });
});

describe('analyst outputs', () => {
  it('retention shape=grid: cohorts × period offsets, the same cells as the rows shape; CSV of the grid with rounded rates', async () => {
    const rows = (await get('/v1/metrics/retention?period=month')).body;
    const grid = (await get('/v1/metrics/retention?period=month&shape=grid')).body;
    expect(grid.shape).toBe('grid');
    expect(grid.cohorts.map((c: { cohort: string }) => c.cohort)).toEqual(rows.cohorts.map((c: { cohort: string }) => c.cohort));
    rows.cohorts.forEach((r: { size: number; cells: { k: number; count: number | null; rate: number | null }[] }, i: number) => {
      expect(grid.cohorts[i].size).toBe(r.size);
      for (const c of r.cells) expect([grid.cohorts[i].counts[c.k], grid.cohorts[i].rates[c.k]]).toEqual([c.count, c.rate]);
      expect(grid.cohorts[i].rates).toHaveLength(grid.periods.length);
    });
    const csv = (await get('/v1/metrics/retention?period=month&shape=grid', 'text/csv')).text.trim().split('\r\n');
    expect(csv[0]).toBe(`cohort,size,${grid.periods.join(',')}`);
    expect(csv).toHaveLength(grid.cohorts.length + 1);
    for (const line of csv.slice(1)) for (const cell of line.split(',').slice(2)) expect(cell).toMatch(/^(|0|1|0\.\d{1,4})$/);
    expect((await get('/v1/metrics/retention?shape=square')).status).toBe(400);
  });

  it('RFM answers CSV for Accept: text/csv: the 25 cells named and counted', async () => {
    const json = (await get('/v1/rfm')).body;
    const csv = await get('/v1/rfm', 'text/csv');
    expect(csv.type).toMatch(/^text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe('r,f,segment,label,customers');
    expect(lines).toHaveLength(26);
    expect(lines[1]).toBe(`5,1,new_customers,New customers,${json.grid[4][0]}`);
    expect(lines).toContain(`1,5,cant_lose_them,Can't lose them,${json.grid[0][4]}`);
    expect(lines.slice(1).reduce((s, l) => s + Number(l.split(',')[4]), 0)).toBe(json.run.customers);
  });
});
