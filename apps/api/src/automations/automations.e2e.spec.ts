/**
 * A win-back rule over HTTP: customers whose last order is 400 days old are lapsed, enter the
 * "lapsed" segment and get one voucher each (or fall in the hold-out); entering again within P
 * days gives nothing; a purchase carrying the code redeems it (later uses are flagged); a
 * `voucher.issued` webhook tells the email tool; the metrics equal a direct computation.
 */
import { randomUUID } from 'crypto';
import { FORWARDS } from '@eventstore/db-client';
import { startCairn, type TestCairn } from '../../../../test/support/cairn';
import { startReceiver, waitFor, type Receiver } from '../webhooks/webhook-receiver.test-support';

const DAY = 86_400_000;

describe('win-back vouchers', () => {
  let cairn: TestCairn;
  let receiver: Receiver;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${cairn.url}${path}`, { method, headers: { authorization: `Bearer ${cairn.adminKey}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : undefined };
  };
  const purchase = (customerId: string, at: Date, opts: { couponCode?: string; totalMinor?: number } = {}) => ({
    type: 'purchase',
    customerId,
    occurredAt: at.toISOString(),
    channel: 'web',
    orderId: `o-${randomUUID()}`,
    currency: 'USD',
    items: [{ productId: 'p1', quantity: 1, unitPriceMinor: opts.totalMinor ?? 2500 }],
    totalMinor: opts.totalMinor ?? 2500,
    ...(opts.couponCode ? { couponCode: opts.couponCode } : {}),
  });
  const enteredEvents = async (segmentId: string) => {
    let n = 0;
    for await (const r of cairn.process.runtime.events.client.readStream(`segment-members-${segmentId}`, { direction: FORWARDS })) if (r.event?.type === 'cairn.segment.entered.v1') n++;
    return n;
  };

  beforeAll(async () => {
    receiver = await startReceiver();
    cairn = await startCairn({ env: { CAIRN_WEBHOOK_URLS: 'dev', CAIRN_WEBHOOK_POLL_MS: '50', CAIRN_SEGMENT_POLL_MS: '50', CAIRN_SEGMENT_INTERVAL_MS: '600000' } });
  }, 60_000);
  afterAll(async () => {
    await cairn?.close();
    await receiver?.close();
  });

  it('rejects an invalid rule naming the fields', async () => {
    const res = await call('POST', '/v1/automations', { name: '', segmentId: 'x', voucher: { kind: 'fixed', amountMinor: 0, currency: 'usd' }, validDays: 0, oncePerDays: 30, holdoutPercent: 80 });
    expect(res.status).toBe(400);
    expect(res.body!.error.fields.map((f: { field: string }) => f.field)).toEqual(['name', 'segmentId', 'voucher.amountMinor', 'voucher.currency', 'validDays', 'holdoutPercent']);
    const noSegment = await call('POST', '/v1/automations', { name: 'x', segmentId: randomUUID(), voucher: { kind: 'percent', percent: 10 }, validDays: 30, oncePerDays: 90 });
    expect(noSegment.body!.error.fields[0].field).toBe('segmentId');
  });

  it('issues one voucher per lapsed customer, none twice within P days; redemption, webhook and metrics', async () => {
    const lapsed = { field: 'lifecycleStage', op: '=', value: 'lapsed' };
    const segment = (await call('POST', '/v1/segments', { name: 'Lapsed', condition: lapsed })).body!;
    const rule = await call('POST', '/v1/automations', { name: 'Win back', segmentId: segment.id, voucher: { kind: 'percent', percent: 15 }, validDays: 30, oncePerDays: 90, holdoutPercent: 30 });
    expect(rule.status).toBe(201);
    const id = rule.body!.id as string;
    expect(rule.body).toMatchObject({ version: 1, validDays: 30, oncePerDays: 90, holdoutPercent: 30 });
    const hook = await call('POST', '/v1/webhooks', { url: `${receiver.url}/email`, kinds: ['voucher.issued'] });
    receiver.secrets.set('/email', hook.body!.secret as string);

    const customers = Array.from({ length: 20 }, (_, i) => `wb-${i}-${randomUUID()}`);
    expect((await call('POST', '/v1/events', { events: customers.map((c) => purchase(c, new Date(Date.now() - 400 * DAY))) })).status).toBe(202);
    const first = await waitFor('a grant for each of the 20 lapsed customers', async () => (await call('GET', `/v1/automations/${id}/metrics`)).body!, (m) => m.vouchersIssued + m.winBack.holdout.customers === 20);
    const vouchers = (await call('GET', `/v1/automations/${id}/vouchers`)).body!.items as { code: string; customerId: string; issuedAt: string; expiresAt: string }[];
    expect(vouchers).toHaveLength(first.vouchersIssued);
    expect(first.winBack.holdout.customers).toBeGreaterThan(0); // 30 % of 20: a stable hash puts some there
    expect(new Set(vouchers.map((v) => v.customerId)).size).toBe(vouchers.length);
    expect(new Set(vouchers.map((v) => v.code)).size).toBe(vouchers.length);
    for (const v of vouchers) expect(Date.parse(v.expiresAt) - Date.parse(v.issuedAt)).toBe(30 * DAY);

    // Every customer exits and enters again (the segment redefined away and back): within P days, nothing more.
    await call('PUT', `/v1/segments/${segment.id}`, { name: 'Lapsed', condition: { field: 'orders', op: '>', value: 1000 } });
    await waitFor('every member out', async () => (await call('GET', `/v1/segments/${segment.id}/members?limit=100`)).body!.items.length, (n) => n === 0);
    await call('PUT', `/v1/segments/${segment.id}`, { name: 'Lapsed', condition: lapsed });
    await waitFor('the 20 entered again, in the log', () => enteredEvents(segment.id), (n) => n === 40);
    // A newcomer lapsing after that: once its grant exists, the runner has passed every re-entry before it in the log.
    const marker = `wb-marker-${randomUUID()}`;
    await call('POST', '/v1/events', purchase(marker, new Date(Date.now() - 400 * DAY)));
    const after = await waitFor('the newcomer\'s grant', async () => (await call('GET', `/v1/automations/${id}/metrics`)).body!, (m) => m.vouchersIssued + m.winBack.holdout.customers === 21);
    const allVouchers = (await call('GET', `/v1/automations/${id}/vouchers`)).body!.items as { code: string; customerId: string }[];
    expect(allVouchers.filter((v) => v.customerId !== marker)).toHaveLength(vouchers.length);

    // The email tool heard of every voucher, signed.
    await waitFor('a voucher.issued webhook per voucher', () => receiver.requests.filter((r) => r.path === '/email' && r.answered === 200).length, (n) => n === allVouchers.length);
    expect(receiver.requests.every((r) => r.verified)).toBe(true);
    expect(new Set(receiver.requests.filter((r) => r.path === '/email').map((r) => (r.body.data as unknown as { code: string }).code))).toEqual(new Set(allVouchers.map((v) => v.code)));

    // Purchases: the first voucher customer redeems (and uses it again: flagged), another customer tries the same code (flagged),
    // the second voucher customer and the first hold-out customer buy without a code.
    const [v1, v2] = vouchers;
    const holdouts = customers.filter((c) => !vouchers.some((v) => v.customerId === c));
    const now = Date.now(); // after every trigger: business times below are later still (up to 24 h ahead is accepted)
    expect(
      (
        await call('POST', '/v1/events', {
          events: [
            purchase(v1!.customerId, new Date(now + 1000), { couponCode: v1!.code, totalMinor: 4200 }),
            purchase(v1!.customerId, new Date(now + 2000), { couponCode: v1!.code, totalMinor: 1000 }),
            purchase(v2!.customerId, new Date(now + 2000), { couponCode: v1!.code, totalMinor: 900 }),
            purchase(holdouts[0]!, new Date(now + 1000)),
          ],
        })
      ).status,
    ).toBe(202);
    const nVoucher = after.vouchersIssued;
    const nHoldout = after.winBack.holdout.customers;
    // Direct computation: of the voucher customers v1 and v2 bought since their trigger, of the hold-out one (the marker is a voucher or hold-out customer who did not buy).
    const expected = {
      vouchersIssued: nVoucher,
      vouchersRedeemed: 1,
      redeemingRevenueMinor: { USD: 4200 },
      flaggedUses: 2,
      consentWithheld: 0,
      winBack: { withVoucher: { customers: nVoucher, won: 2, rate: 2 / nVoucher }, holdout: { customers: nHoldout, won: 1, rate: 1 / nHoldout } },
    };
    expect(await waitFor('the metrics to include the purchases', async () => (await call('GET', `/v1/automations/${id}/metrics`)).body!, (m) => m.vouchersRedeemed === 1 && m.winBack.holdout.won === 1 && m.winBack.withVoucher.won === 2 && m.flaggedUses === 2)).toEqual(expected);
    const redeemed = ((await call('GET', `/v1/automations/${id}/vouchers`)).body!.items as { code: string; redeemedBy: unknown }[]).find((v) => v.code === v1!.code)!;
    expect(redeemed.redeemedBy).toMatchObject({ totalMinor: 4200, currency: 'USD' });
  }, 120_000);
});
