/**
 * Identity in the loyalty ledger (docs/identity.md), over HTTP on an in-process Cairn: merging two
 * customers with points gives one ledger whose balance equals the ledger of their combined facts,
 * a referral between them becomes a withheld self-referral, the merge shows as a correction with
 * the merge as its cause, a redemption through either id spends the person's points, and an unmerge
 * gives back both ledgers byte for byte.
 */
import { randomUUID } from 'crypto';
import { asPerson, computeLedger, type ProgramVersion } from '@cairn/domain';
import { loadLedgerFacts } from '@cairn/projections';
import { startCairn, type TestCairn } from '../../../../test/support/cairn';

const DAY = 86_400_000;
const PROGRAM = {
  currency: 'USD',
  earn: { pointsPerUnit: 1, unitMinor: 100, rounding: 'floor', referral: { referrerPoints: 500, friendPoints: 100, maxPerWeek: 5 } },
  pendingDays: 0,
  expiry: { mode: 'none' },
  returns: { negativeBalance: 'allow' },
  tiers: { basis: 'points', window: { kind: 'rolling', days: 365 }, downgrade: 'never', levels: [{ name: 'Bronze', threshold: 0, multiplier: 1 }, { name: 'Silver', threshold: 1000, multiplier: 1 }] },
};

describe('the loyalty ledger follows identity', () => {
  let cairn: TestCairn;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${cairn.url}${path}`, { method, headers: { authorization: `Bearer ${cairn.adminKey}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, text, body: text ? JSON.parse(text) : undefined };
  };

  beforeAll(async () => {
    cairn = await startCairn();
    expect((await call('PUT', '/v1/loyalty/program', { program: PROGRAM, effectiveFrom: '2025-01-01T00:00:00Z' })).status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await cairn?.close();
  });

  it('merges two ledgers into one equal to the combined facts, and an unmerge gives both back byte for byte', async () => {
    const [a, b] = [`la-${randomUUID()}`, `lb-${randomUUID()}`];
    const at = (days: number) => new Date(Date.now() - days * DAY).toISOString();
    const purchase = (c: string, days: number, minor: number) => ({ type: 'purchase', customerId: c, occurredAt: at(days), channel: 'web', orderId: `o-${randomUUID()}`, currency: 'USD', items: [{ productId: 'p', quantity: 1, unitPriceMinor: minor }], totalMinor: minor });
    // a refers b, b buys: a earns the referral reward; a and b are in fact one person.
    const ingest = await call('POST', '/v1/events', {
      events: [purchase(a, 50, 60_000), { type: 'referral', customerId: a, occurredAt: at(45), channel: 'social', referralCode: `R-${a}`, refereeId: b }, purchase(b, 40, 50_000), purchase(b, 20, 10_000)],
    });
    expect(ingest.status).toBe(202);
    expect((await call('GET', `/v1/customers/${b}?minPosition=${ingest.body.position.commit}`)).status).toBe(200);
    const asOf = new Date().toISOString();
    const before = { a: await call('GET', `/v1/loyalty/${a}/ledger?asOf=${asOf}`), b: await call('GET', `/v1/loyalty/${b}/ledger?asOf=${asOf}`) };
    const summaryBefore = { a: (await call('GET', `/v1/loyalty/${a}?asOf=${asOf}`)).body, b: (await call('GET', `/v1/loyalty/${b}?asOf=${asOf}`)).body };
    // Apart: a has 600 + the 500 referral reward, b 600 + the 100 friend reward.
    expect([summaryBefore.a.balance.available, summaryBefore.b.balance.available]).toEqual([1100, 700]);

    const merge = await call('POST', '/v1/identity/merges', { survivorId: a, mergedId: b, reason: 'same person' });
    expect(merge.status).toBe(201);
    const merged = (await call('GET', `/v1/loyalty/${b}?asOf=${asOf}`)).body;
    expect(merged.customerId).toBe(a);
    // The combined facts' ledger, computed directly: 1,200 points of purchases, the referral withheld as a self-referral.
    const db = cairn.process.runtime.readStore.db;
    const facts = [...(await loadLedgerFacts(db, a)), ...(await loadLedgerFacts(db, b))];
    const { versions } = (await call('GET', '/v1/loyalty/program')).body as { versions: ProgramVersion[] };
    const direct = computeLedger(a, asPerson(a, new Set([a, b]), facts), versions, asOf);
    expect(merged.balance).toEqual(direct.balance);
    expect(merged.balance.available).toBe(1200);
    expect((await call('GET', `/v1/loyalty/${a}?asOf=${asOf}`)).body).toEqual(merged);
    const ledger = (await call('GET', `/v1/loyalty/${a}/ledger?asOf=${asOf}`)).body;
    expect(ledger.withheld).toEqual(expect.arrayContaining([expect.objectContaining({ reason: expect.stringContaining('self-referral') })]));
    expect(ledger.corrections).toEqual(expect.arrayContaining([expect.objectContaining({ cause: merge.body.mergeId, kind: `identity merge of ${b}` })]));

    // A redemption through the merged id spends the person's points.
    expect((await call('POST', `/v1/loyalty/${b}/redemptions`, { points: 1200 })).status).toBe(201);
    expect((await call('POST', `/v1/loyalty/${a}/redemptions`, { points: 1 })).body.error.code).toBe('CAIRN.INSUFFICIENT_POINTS');

    // Unmerge: each ledger as it was (the redemption, made by the person, stays with the survivor).
    const unmerge = await call('DELETE', `/v1/identity/merges/${merge.body.mergeId}`);
    expect(unmerge.status).toBe(200);
    expect((await call('GET', `/v1/loyalty/${b}/ledger?asOf=${asOf}`)).text).toBe(before.b.text);
    const aAfter = (await call('GET', `/v1/loyalty/${a}?asOf=${asOf}`)).body;
    expect(aAfter.customerId).toBe(a);
    expect((await call('GET', `/v1/loyalty/${a}/ledger?asOf=${asOf}`)).text).toBe(before.a.text);
  }, 120_000);

  it('a replay as of T applies the merges requested by T and no later one', async () => {
    const [a, b] = [`ra-${randomUUID()}`, `rb-${randomUUID()}`];
    const at = (days: number) => new Date(Date.now() - days * DAY).toISOString();
    const buy = (c: string) => ({ type: 'purchase', customerId: c, occurredAt: at(10), channel: 'web', orderId: `o-${randomUUID()}`, currency: 'USD', items: [{ productId: 'p', quantity: 1, unitPriceMinor: 1000 }], totalMinor: 1000 });
    const ingest = await call('POST', '/v1/events', { events: [buy(a), buy(b)] });
    expect((await call('GET', `/v1/customers/${b}?minPosition=${ingest.body.position.commit}`)).status).toBe(200);
    const beforeMerge = new Date().toISOString();
    const merge = await call('POST', '/v1/identity/merges', { survivorId: a, mergedId: b, reason: 'same person' });
    expect(merge.status).toBe(201);
    const profilesAsOf = async (asOf: string) => {
      const started = await call('POST', '/v1/admin/replays', { projections: ['profiles'], asOf });
      const deadline = Date.now() + 60_000;
      for (;;) {
        const { body } = await call('GET', `/v1/admin/replays/${started.body.id}`);
        if (body.state !== 'running') break;
        if (Date.now() > deadline) throw new Error('timed out waiting for the replay');
        await new Promise((r) => setTimeout(r, 100));
      }
      const files = (await call('GET', `/v1/admin/replays/${started.body.id}/files`)).body.files as Record<string, string>;
      return (JSON.parse(files['profiles.json']) as { customer_id: string; orders: number }[]).filter((p) => p.customer_id === a || p.customer_id === b).map((p) => [p.customer_id, p.orders]);
    };
    // Before the merge was requested: two people; after: one, with both orders.
    expect(await profilesAsOf(beforeMerge)).toEqual([[a, 1], [b, 1]]);
    expect(await profilesAsOf(new Date(Date.now() + 1000).toISOString())).toEqual([[a, 2]]);
  }, 120_000);
});
