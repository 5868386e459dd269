/**
 * Consent end to end, on a real Cairn (embedded node; SQLite and PostgreSQL read stores): consent events through both ingest
 * paths, the profile's consent per purpose with its history (as of now: a change dated ahead does
 * not count yet), a segment that requires consent (a person leaves it when consent is withdrawn, as
 * of the withdrawal, and the segment's entered/exited log says so), and the outgoing reactions
 * that declare the consent they need (a webhook endpoint, an automation): changes about people
 * without it are withheld, recorded and counted, never sent.
 */
import { randomUUID } from 'crypto';
import { FORWARDS } from '@eventstore/db-client';
import { startCairn, type TestCairn } from './support/cairn';
import { pgAdmin, pgUrlFor } from './support/faults';
import { startReceiver, waitFor, type Receiver } from '../apps/api/src/webhooks/webhook-receiver.test-support';

const DAY = 86_400_000;

describe.each(['SQLite', 'PostgreSQL'] as const)('consent on %s', (kind) => {
  let cairn: TestCairn;
  const pgDatabase = kind === 'PostgreSQL' ? `consent_${randomUUID().replace(/-/g, '').slice(0, 12)}` : null;
  let receiver: Receiver;
  const run = randomUUID().slice(0, 8);
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${cairn.url}${path}`, { method, headers: { authorization: `Bearer ${cairn.adminKey}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : undefined };
  };
  const ingest = async (events: unknown[]) => {
    const res = await call('POST', '/v1/events', { events });
    expect(res.body!.results.filter((r: { status: string }) => r.status !== 'accepted')).toEqual([]);
    return res.body!.position.commit as string;
  };
  const purchase = (customerId: string, at: number) => ({
    type: 'purchase', customerId, occurredAt: new Date(at).toISOString(), channel: 'web', orderId: `o-${randomUUID()}`, currency: 'USD', items: [{ productId: 'p1', quantity: 1, unitPriceMinor: 2500 }], totalMinor: 2500,
  });
  const consent = (customerId: string, at: number, status: 'granted' | 'withdrawn', extra: Record<string, unknown> = {}) => ({
    id: randomUUID(), type: 'consent', customerId, occurredAt: new Date(at).toISOString(), channel: 'web', purpose: 'email_marketing', status, ...extra,
  });
  const members = async (segmentId: string) => ((await call('GET', `/v1/segments/${segmentId}/members?limit=1000`)).body!.items as { customerId: string }[]).map((m) => m.customerId).sort();
  const membership = async (segmentId: string) => {
    const out: { type: string; customerId: string; at: string }[] = [];
    try {
      for await (const r of cairn.process.runtime.events.client.readStream(`segment-members-${segmentId}`, { direction: FORWARDS })) {
        const d = r.event!.data as { customerId: string; at: string };
        out.push({ type: r.event!.type, customerId: d.customerId, at: d.at });
      }
    } catch {
      return out; // no stream yet
    }
    return out;
  };
  const deliveries = async (hookId: string, status?: string) => (await call('GET', `/v1/webhooks/${hookId}/deliveries?limit=500${status ? `&status=${status}` : ''}`)).body!.items as Record<string, any>[];

  beforeAll(async () => {
    receiver = await startReceiver();
    if (pgDatabase) await pgAdmin((c) => c.query(`create database ${pgDatabase}`));
    cairn = await startCairn({ ...(pgDatabase ? { readModel: pgUrlFor(pgDatabase) } : {}), env: { CAIRN_WEBHOOK_URLS: 'dev', CAIRN_WEBHOOK_POLL_MS: '50', CAIRN_SEGMENT_POLL_MS: '50', CAIRN_SEGMENT_INTERVAL_MS: '1000' } });
  }, 60_000);
  afterAll(async () => {
    await cairn?.close();
    await receiver?.close();
    if (pgDatabase) await pgAdmin((c) => c.query(`drop database if exists ${pgDatabase} with (force)`));
  });

  it('rejects bad consent input naming field and reason, on both ingest paths and in definitions', async () => {
    const bad = await call('POST', '/v1/events', { type: 'consent', customerId: 'x', occurredAt: new Date().toISOString(), channel: 'web', purpose: 'Email Marketing', status: 'revoked' });
    expect(bad.body!.results[0]).toMatchObject({ status: 'rejected', errors: [{ field: 'purpose', message: expect.stringContaining('a–z, 0–9 and _') }, { field: 'status', message: 'status must be one of granted, withdrawn' }] });
    const imported = await fetch(`${cairn.url}/v1/events/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cairn.adminKey}`, 'content-type': 'application/x-ndjson' },
      body: [JSON.stringify({ ...consent(`imp-${run}`, Date.now() - 10 * DAY, 'granted'), source: 'crm-import' }), JSON.stringify({ ...consent(`imp-${run}`, Date.now(), 'granted'), policyVersion: '' })].join('\n'),
    });
    const lines = (await imported.text()).trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    expect(lines.filter((l) => l.status === 'rejected').map((l) => [l.line, l.errors[0].field])).toEqual([[2, 'policyVersion']]);
    expect(lines.at(-1)!.summary).toMatchObject({ lines: 2, accepted: 1, rejected: 1 });
    const importedProfile = (await call('GET', `/v1/customers/imp-${run}?minPosition=${lines.at(-1)!.summary.position.commit}`)).body!;
    expect(importedProfile.consent.email_marketing).toMatchObject({ status: 'granted', source: 'crm-import' });
    const segment = await call('POST', '/v1/segments', { name: 'bad', condition: { all: [{ consent: 'Email' }] } });
    expect([segment.status, segment.body!.error.fields]).toEqual([400, [{ field: 'condition.all[0].consent', message: expect.stringContaining('a–z, 0–9 and _') }]]);
    const hook = await call('POST', '/v1/webhooks', { url: `${receiver.url}/x`, kinds: ['segment.entered'], requiresConsent: 'E-mail' });
    expect([hook.status, hook.body!.error.fields[0].field]).toEqual([400, 'requiresConsent']);
    const rule = await call('POST', '/v1/automations', { name: 'x', segmentId: randomUUID(), voucher: { kind: 'percent', percent: 10 }, validDays: 30, oncePerDays: 90, requiresConsent: '' });
    expect(rule.body!.error.fields.map((f: { field: string }) => f.field)).toContain('requiresConsent');
  });

  it('shows consent per purpose with its history; a person leaves a segment that requires it when it is withdrawn, as of the withdrawal; reactions that need it are withheld', async () => {
    const [alice, bob, carol, dave] = ['alice', 'bob', 'carol', 'dave'].map((n) => `${n}-${run}`) as [string, string, string, string];
    const t0 = Date.now() - 30 * DAY;
    const mailable = (await call('POST', '/v1/segments', { name: `Mailable buyers ${run}`, condition: { all: [{ field: 'orders', op: '>=', value: 1 }, { consent: 'email_marketing' }] } })).body!;
    const buyers = (await call('POST', '/v1/segments', { name: `Buyers ${run}`, condition: { all: [{ field: 'orders', op: '>=', value: 1 }, { field: 'customerId', op: 'contains', value: run }] } })).body!;
    const all = (await call('POST', '/v1/webhooks', { url: `${receiver.url}/all-${run}`, kinds: ['segment.entered', 'segment.exited'], segmentId: mailable.id })).body!;
    receiver.secrets.set(`/all-${run}`, all.secret);
    const mail = (await call('POST', '/v1/webhooks', { url: `${receiver.url}/mail-${run}`, kinds: ['segment.entered', 'voucher.issued'], segmentId: buyers.id, requiresConsent: 'email_marketing' })).body!;
    receiver.secrets.set(`/mail-${run}`, mail.secret);
    expect([all.requiresConsent, mail.requiresConsent]).toEqual([null, 'email_marketing']);
    const rule = (await call('POST', '/v1/automations', { name: `Welcome ${run}`, segmentId: buyers.id, voucher: { kind: 'percent', percent: 10 }, validDays: 30, oncePerDays: 90, requiresConsent: 'email_marketing' })).body!;
    expect(rule.requiresConsent).toBe('email_marketing');

    // alice granted at checkout (sent after the later re-grant: arrival order does not matter), bob never said, carol withdrew.
    let position = await ingest([
      purchase(alice, t0),
      purchase(bob, t0),
      purchase(carol, t0),
      consent(alice, t0 + 2 * DAY, 'granted', { source: 'preference-center', policyVersion: '2026-05' }),
      consent(alice, t0 + DAY, 'granted', { source: 'checkout', policyVersion: '2026-01' }),
      consent(carol, t0 + DAY, 'granted', { source: 'checkout' }),
      consent(carol, t0 + 3 * DAY, 'withdrawn', { source: 'unsubscribe-link' }),
    ]);
    const profile = (await call('GET', `/v1/customers/${alice}?minPosition=${position}`)).body!;
    expect(profile.consent).toEqual({
      email_marketing: {
        status: 'granted',
        since: new Date(t0 + DAY).toISOString(),
        updatedAt: new Date(t0 + 2 * DAY).toISOString(),
        source: 'preference-center',
        policyVersion: '2026-05',
        history: [
          { status: 'granted', occurredAt: new Date(t0 + DAY).toISOString(), source: 'checkout', policyVersion: '2026-01', eventId: expect.any(String) },
          { status: 'granted', occurredAt: new Date(t0 + 2 * DAY).toISOString(), source: 'preference-center', policyVersion: '2026-05', eventId: expect.any(String) },
        ],
      },
    });
    expect((await call('GET', `/v1/customers/${bob}`)).body!.consent).toEqual({});
    expect((await call('GET', `/v1/customers/${carol}`)).body!.consent.email_marketing).toMatchObject({ status: 'withdrawn', since: new Date(t0 + 3 * DAY).toISOString(), source: 'unsubscribe-link' });

    await waitFor('alice alone in the segment that requires consent', () => members(mailable.id), (m) => m.join() === alice);
    await waitFor('the three buyers in the other', () => members(buyers.id), (m) => m.length === 3);

    // The endpoint that requires consent: alice's entry sent; bob's and carol's withheld with the reason, counted, never sent.
    const held = await waitFor('two withheld deliveries', () => deliveries(mail.id, 'withheld'), (d) => d.length === 2);
    expect(Object.fromEntries(held.map((d) => [d.customerId, d.withheldReason]))).toEqual({
      [bob]: expect.stringMatching(/^no email_marketing consent as of .* \(never granted\)$/),
      [carol]: expect.stringContaining(`email_marketing consent withdrawn since ${new Date(t0 + 3 * DAY).toISOString()}`),
    });
    expect(held.every((d) => d.attempts.length === 0 && d.kind === 'segment.entered')).toBe(true);
    // The automation: one voucher (alice), two triggers withheld; its voucher.issued goes to the endpoint (alice has consent).
    const metrics = await waitFor('the automation to weigh the three entries', async () => (await call('GET', `/v1/automations/${rule.id}/metrics`)).body!, (m) => m.vouchersIssued + m.consentWithheld === 3);
    expect([metrics.vouchersIssued, metrics.consentWithheld]).toEqual([1, 2]);
    await waitFor('alice\'s entry and voucher at the endpoint that requires consent', () => receiver.requests.filter((r) => r.path === `/mail-${run}` && r.answered === 200).map((r) => `${r.body.type}:${r.body.data.customerId}`).sort(), (got) => got.join() === [`segment.entered:${alice}`, `voucher.issued:${alice}`].join());
    const hook = (await call('GET', `/v1/webhooks/${mail.id}`)).body!;
    expect(hook.deliveries).toEqual({ pending: 0, delivered: 2, dead: 0, withheld: 2 });
    const resend = await call('POST', `/v1/webhooks/${mail.id}/deliveries/${held[0]!.id}/resend`);
    expect([resend.status, resend.body!.error.fields[0].field]).toEqual([400, 'deliveryId']);

    // alice withdraws now: she leaves, and the log says so, at or after the withdrawal.
    const withdrawnAt = Date.now();
    position = await ingest([consent(alice, withdrawnAt, 'withdrawn', { source: 'preference-center' })]);
    await waitFor('alice out of the segment that requires consent', () => members(mailable.id), (m) => m.length === 0);
    const log = await waitFor('her exit in the segment\'s log', () => membership(mailable.id), (l) => l.some((e) => e.type === 'cairn.segment.exited.v1'));
    expect(log.map((e) => [e.type, e.customerId])).toEqual([['cairn.segment.entered.v1', alice], ['cairn.segment.exited.v1', alice]]);
    expect(Date.parse(log[1]!.at)).toBeGreaterThanOrEqual(withdrawnAt);
    expect((await call('GET', `/v1/customers/${alice}?minPosition=${position}`)).body!.consent.email_marketing).toMatchObject({ status: 'withdrawn', since: new Date(withdrawnAt).toISOString() });
    await waitFor('the exit at the endpoint without a consent requirement', () => receiver.requests.filter((r) => r.path === `/all-${run}` && r.answered === 200).map((r) => r.body.type), (t) => t.join() === 'segment.entered,segment.exited');

    // dave withdraws with a date a few seconds ahead: until then he is a member and his consent reads granted; from it on, not.
    const ahead = Date.now() + 4000;
    position = await ingest([purchase(dave, t0), consent(dave, t0, 'granted'), consent(dave, ahead, 'withdrawn')]);
    await waitFor('dave in the segment while his consent holds', () => members(mailable.id), (m) => m.join() === dave);
    const before = (await call('GET', `/v1/customers/${dave}?minPosition=${position}`)).body!;
    if (Date.now() < ahead) expect(before.consent.email_marketing).toMatchObject({ status: 'granted', history: [expect.objectContaining({ status: 'granted' })] });
    await waitFor('dave out once the withdrawal\'s instant has passed', () => members(mailable.id), (m) => m.length === 0, 30_000);
    // The exit reaches segment-members-<id> through the segment outbox, a moment after the member table.
    const exit = await waitFor('dave\'s exit in the membership log', async () => (await membership(mailable.id)).filter((e) => e.customerId === dave && e.type === 'cairn.segment.exited.v1'), (x) => x.length > 0, 30_000);
    expect(exit).toHaveLength(1);
    expect(Date.parse(exit[0]!.at)).toBeGreaterThanOrEqual(ahead);
    expect((await call('GET', `/v1/customers/${dave}`)).body!.consent.email_marketing).toMatchObject({ status: 'withdrawn', since: new Date(ahead).toISOString() });
  }, 120_000);
});
