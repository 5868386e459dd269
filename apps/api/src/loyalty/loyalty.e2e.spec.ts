import { randomUUID } from 'crypto';
import { CairnError } from '@cairn/domain';
import { startCairn, type TestCairn } from '../../../../test/support/cairn';
import { LoyaltyReader } from './loyalty.reader';
import { RedeemCommand } from './redeem/redeem.command';
import { RedeemHandler } from './redeem/redeem.handler';

const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();

const PROGRAM = {
  currency: 'EUR',
  earn: { pointsPerUnit: 1, unitMinor: 100, rounding: 'floor', review: { points: 50, requirePurchase: true }, referral: { referrerPoints: 500, friendPoints: 200, maxPerWeek: 3 } },
  pendingDays: 30,
  expiry: { mode: 'fixed', days: 365 },
  returns: { negativeBalance: 'allow' },
  tiers: {
    basis: 'points',
    window: { kind: 'rolling', days: 365 },
    downgrade: 'end-of-period',
    levels: [
      { name: 'Bronze', threshold: 0, multiplier: 1 },
      { name: 'Silver', threshold: 1000, multiplier: 1.5 },
      { name: 'Gold', threshold: 5000, multiplier: 2 },
    ],
  },
};

describe('loyalty over HTTP', () => {
  let cairn: TestCairn;
  const auth = () => ({ authorization: `Bearer ${cairn.adminKey}`, 'content-type': 'application/json' });
  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${cairn.url}${path}`, { method, headers: auth(), ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const ingest = async (events: unknown[]) => {
    const res = await call('POST', '/v1/events', { events });
    expect(res.status).toBe(202);
    return ((await res.json()) as { position: { commit: string } }).position.commit;
  };
  const purchase = (customerId: string, daysAgo: number, totalMinor: number, extra: Record<string, unknown> = {}) => ({
    id: randomUUID(),
    type: 'purchase',
    customerId,
    occurredAt: ago(daysAgo),
    channel: 'web',
    orderId: `o-${randomUUID()}`,
    currency: 'EUR',
    items: [{ productId: 'p1', quantity: 1, unitPriceMinor: totalMinor }],
    totalMinor,
    ...extra,
  });

  beforeAll(async () => {
    cairn = await startCairn();
  });
  afterAll(async () => {
    await cairn?.close();
  });

  it('answers 404 before a program exists, and refuses an invalid program naming the JSON path', async () => {
    expect((await call('GET', '/v1/loyalty/program')).status).toBe(404);
    const bad = await call('PUT', '/v1/loyalty/program', { program: { ...PROGRAM, earn: { ...PROGRAM.earn, pointsPerUnit: -1 }, tiers: { ...PROGRAM.tiers, levels: [] } } });
    expect(bad.status).toBe(400);
    const body = await bad.json();
    expect(body.error.code).toBe('CAIRN.VALIDATION');
    expect(body.error.fields.map((f: { field: string }) => f.field).sort()).toEqual(['program.earn.pointsPerUnit', 'program.tiers.levels']);
    const badDate = await call('PUT', '/v1/loyalty/program', { program: PROGRAM, effectiveFrom: 'yesterday' });
    expect((await badDate.json()).error.fields).toEqual([{ field: 'effectiveFrom', message: 'must be an ISO-8601 instant with an offset' }]);
  });

  it('defines versioned programs, computes the ledger for any as-of, and explains it', async () => {
    const put = await call('PUT', '/v1/loyalty/program', { program: PROGRAM, effectiveFrom: ago(400) });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ version: 1 });
    const listed = await (await call('GET', '/v1/loyalty/program')).json();
    expect(listed.versions).toEqual([expect.objectContaining({ version: 1, program: expect.objectContaining({ currency: 'EUR', pendingDays: 30 }) })]);

    const c = `c-${randomUUID()}`;
    const p1 = purchase(c, 60, 120_000);
    const position = await ingest([p1, purchase(c, 10, 10_000), { type: 'review', customerId: c, occurredAt: ago(9), channel: 'web', productId: 'p1', rating: 5 }]);

    const summary = await call('GET', `/v1/loyalty/${c}?minPosition=${position}`);
    expect(summary.status).toBe(200);
    const s = await summary.json();
    // 1200 (Bronze ×1) available; then Silver ×1.5 on 100 € = 150 pending; review 50 available
    expect(s).toMatchObject({ programVersion: 1, balance: { available: 1250, pending: 150 }, lifetimeEarned: 1400, tier: { name: 'Silver', qualifying: 1400, next: { name: 'Gold', remaining: 3600 } } });

    // As of 45 days ago the first order's points were still pending, and the customer was Bronze.
    const past = await (await call('GET', `/v1/loyalty/${c}?asOf=${encodeURIComponent(ago(45))}`)).json();
    expect(past).toMatchObject({ balance: { pending: 1200, available: 0 }, tier: { name: 'Silver' } });
    // Far in the future the points have expired without any new event.
    const future = await (await call('GET', `/v1/loyalty/${c}?asOf=${encodeURIComponent(new Date(Date.now() + 400 * DAY).toISOString())}`)).json();
    expect(future.balance).toEqual({ pending: 0, available: 0 });

    const ledger = await (await call('GET', `/v1/loyalty/${c}/ledger`)).json();
    expect(ledger.movements[0]).toMatchObject({ type: 'earned', cause: p1.id, ruleVersion: 1, pending: 1200 });
    const explain = await (await call('GET', `/v1/loyalty/${c}/explain`)).json();
    expect(explain.tier.summary).toMatch(/^Silver since .*: 1400 points earned/);
    expect(explain.tier.contributions.map((x: { cause: string }) => x.cause)).toContain(p1.id);

    expect((await call('GET', `/v1/loyalty/${c}?asOf=soon`)).status).toBe(400);
    expect((await call('GET', `/v1/loyalty/nobody-${randomUUID()}`)).status).toBe(404);
  });

  it('a late return corrects the ledger and records the correction with its cause', async () => {
    const c = `c-${randomUUID()}`;
    const p = purchase(c, 50, 40_000);
    await ingest([p]);
    const ret = { id: randomUUID(), type: 'return', customerId: c, occurredAt: ago(40), channel: 'web', orderId: p.orderId, items: [{ productId: 'p1', quantity: 1 }], refundMinor: 10_000, currency: 'EUR' };
    const position = await ingest([ret]);
    const ledger = await (await call('GET', `/v1/loyalty/${c}/ledger?minPosition=${position}`)).json();
    expect(ledger.balance).toEqual({ pending: 0, available: 300 });
    expect(ledger.corrections).toEqual([expect.objectContaining({ cause: ret.id, kind: 'late return', available: -100 })]);
  });

  it('concurrent redemptions never overspend; insufficient points → 409 with the available balance', async () => {
    const c = `c-${randomUUID()}`;
    const position = await ingest([purchase(c, 40, 100_000)]); // 1000 points, available
    const tooMuch = await call('POST', `/v1/loyalty/${c}/redemptions?minPosition=${position}`, { points: 1001 });
    expect(tooMuch.status).toBe(409);
    expect((await tooMuch.json()).error).toMatchObject({ code: 'CAIRN.INSUFFICIENT_POINTS', available: 1000 });
    const invalid = await call('POST', `/v1/loyalty/${c}/redemptions`, { points: 0, extra: 1 });
    expect(invalid.status).toBe(400);
    expect((await invalid.json()).error.fields.map((f: { field: string }) => f.field).sort()).toEqual(['extra', 'points']);

    const results = await Promise.all(Array.from({ length: 50 }, () => call('POST', `/v1/loyalty/${c}/redemptions`, { points: 100 }).then((r) => r.status)));
    expect(results.filter((s) => s === 201)).toHaveLength(10);
    expect(results.filter((s) => s !== 201).every((s) => s === 409)).toBe(true);
    const after = await (await call('GET', `/v1/loyalty/${c}`)).json();
    expect(after.balance.available).toBe(0);
    expect(after.redeemed).toBe(1000);

    // A retried redemption (same id) is recorded once.
    const c2 = `c-${randomUUID()}`;
    await call('GET', `/v1/loyalty/${c2}?minPosition=${await ingest([purchase(c2, 40, 10_000)])}`);
    const id = randomUUID();
    const first = await (await call('POST', `/v1/loyalty/${c2}/redemptions`, { id, points: 60, reference: 'cart-1' })).json();
    const again = await (await call('POST', `/v1/loyalty/${c2}/redemptions`, { id, points: 60, reference: 'cart-1' })).json();
    expect(first).toMatchObject({ duplicate: false, available: 40 });
    expect(again).toMatchObject({ duplicate: true, available: 40 });

    // An admin adjustment is a movement with its reason; it then funds a redemption.
    const bad = await call('POST', `/v1/loyalty/${c2}/adjustments`, { points: 0 });
    expect((await bad.json()).error.fields.map((f: { field: string }) => f.field)).toEqual(['points', 'reason']);
    expect((await call('POST', `/v1/loyalty/${c2}/adjustments`, { points: 25, reason: 'late delivery' })).status).toBe(201);
    const adjusted = await (await call('GET', `/v1/loyalty/${c2}/ledger`)).json();
    expect(adjusted.balance.available).toBe(65);
    expect(adjusted.movements.at(-1)).toMatchObject({ type: 'adjusted', available: 25, note: 'manual adjustment: late delivery' });
    expect((await call('POST', `/v1/loyalty/${c2}/redemptions`, { points: 65 })).status).toBe(201);
  });

  it('redemption and adjustment need the server-side loyalty:write scope: the browser-held ingest key gets 403', async () => {
    const key = async (scopes: string[]) => ((await (await call('POST', '/v1/admin/keys', { name: scopes.join('+'), scopes })).json()) as { key: string }).key;
    const as = (secret: string, path: string, body: unknown) =>
      fetch(`${cairn.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const c = `c-${randomUUID()}`;
    await call('GET', `/v1/loyalty/${c}?minPosition=${await ingest([purchase(c, 40, 10_000)])}`); // 100 points, available
    const ingestKey = await key(['ingest']);
    const readKey = await key(['read']);
    const serverKey = await key(['loyalty:write']);

    for (const secret of [ingestKey, readKey]) {
      const redeem = await as(secret, `/v1/loyalty/${c}/redemptions`, { points: 10 });
      expect(redeem.status).toBe(403);
      expect((await redeem.json()).error).toMatchObject({ code: 'CAIRN.FORBIDDEN', message: expect.stringContaining('loyalty:write') });
      expect((await as(secret, `/v1/loyalty/${c}/adjustments`, { points: 10, reason: 'x' })).status).toBe(403);
    }
    expect((await as(ingestKey, '/v1/events', purchase(c, 1, 100))).status).toBe(202); // what the ingest key is for

    const redeemed = await as(serverKey, `/v1/loyalty/${c}/redemptions`, { points: 10 });
    expect(redeemed.status).toBe(201);
    expect(await redeemed.json()).toMatchObject({ customerId: c, points: 10, available: 90 });
    expect((await as(serverKey, `/v1/loyalty/${c}/adjustments`, { points: 5, reason: 'goodwill' })).status).toBe(201);
    // loyalty:write is not ingest, nor admin.
    expect((await as(serverKey, '/v1/events', purchase(c, 1, 100))).status).toBe(403);
    expect((await as(serverKey, '/v1/admin/keys', { name: 'x', scopes: ['admin'] })).status).toBe(403);
  });

  it('several API processes redeeming at once still never overspend (optimistic concurrency on the stream)', async () => {
    const runtime = cairn.process.runtime;
    // One handler + reader per simulated process: no shared in-process queue, only the stream revision.
    const processes = [0, 1, 2, 3].map(() => new RedeemHandler(runtime, new LoyaltyReader(runtime)));
    const c = `c-${randomUUID()}`;
    const position = await ingest([purchase(c, 40, 100_000)]); // 1000 points
    await call('GET', `/v1/loyalty/${c}?minPosition=${position}`);
    const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => processes[i % 4].execute(new RedeemCommand(c, randomUUID(), 100, undefined))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as CairnError).code).toBe('CAIRN.INSUFFICIENT_POINTS');
    const after = await (await call('GET', `/v1/loyalty/${c}`)).json();
    expect(after.balance.available).toBe(0);
  });

  it('rewards a referral when the friend’s first order passes the return window, and withholds self-referrals', async () => {
    const r = `r-${randomUUID()}`;
    const f = `f-${randomUUID()}`;
    const code = `CODE-${randomUUID()}`;
    const position = await ingest([
      { type: 'referral', customerId: r, occurredAt: ago(50), channel: 'email', referralCode: code },
      purchase(f, 45, 5_000, { referralCode: code }),
      purchase(r, 44, 1_000, { referralCode: code }),
    ]);
    const referrer = await (await call('GET', `/v1/loyalty/${r}/explain?minPosition=${position}`)).json();
    expect(referrer.balance.summary).toMatch(/^available 510,/);
    expect(referrer.withheld).toEqual([expect.objectContaining({ reason: 'referrer referral reward: self-referral' })]);
    const friend = await (await call('GET', `/v1/loyalty/${f}`)).json();
    expect(friend.balance.available).toBe(250);
  });

  // Last: it changes the program every other test relies on.
  it('a back-dated program version re-rates history from its effective date, recorded as a correction', async () => {
    const c = `c-${randomUUID()}`;
    const position = await ingest([purchase(c, 40, 10_000)]);
    const before = await (await call('GET', `/v1/loyalty/${c}?minPosition=${position}`)).json();
    expect(before.balance.available).toBe(100);
    const put = await call('PUT', '/v1/loyalty/program', { program: { ...PROGRAM, earn: { ...PROGRAM.earn, pointsPerUnit: 2 } }, effectiveFrom: ago(100) });
    expect(await put.json()).toMatchObject({ version: 2 });
    const after = await (await call('GET', `/v1/loyalty/${c}/ledger`)).json();
    expect(after).toMatchObject({ programVersion: 2, balance: { available: 200 } });
    expect(after.movements[0]).toMatchObject({ type: 'earned', pending: 200, ruleVersion: 2 });
    expect(after.corrections).toEqual([expect.objectContaining({ kind: 'back-dated program version 2', available: 100, lifetimeEarned: 100 })]);
  });
});
