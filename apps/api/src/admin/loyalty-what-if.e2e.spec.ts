/**
 * "What if Gold started at 1,500 points?" over HTTP on an in-process Cairn: a replay with
 * `rules.loyalty` lists exactly the customers a direct computation says change tier (each one's
 * qualifying points against the what-if thresholds), the liability change equals the sum over the
 * customers listed, a what-if that demotes lists the redemptions it would have refused, bad rules
 * are a 400 naming the JSON path, and docs/operations.md shows this spec's own output.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Writable } from 'stream';
import { main } from '../../../cli/src/main';
import { startCairn, type TestCairn } from '../../../../test/support/cairn';

const DAY = 86_400_000;
const levels = (gold: number) => [
  { name: 'Bronze', threshold: 0, multiplier: 1 },
  { name: 'Silver', threshold: 1000, multiplier: 1 },
  { name: 'Gold', threshold: gold, multiplier: 2 },
];
const program = (gold: number) => ({
  currency: 'USD',
  earn: { pointsPerUnit: 1, unitMinor: 100, rounding: 'floor' },
  pendingDays: 0,
  expiry: { mode: 'none' },
  returns: { negativeBalance: 'allow' },
  tiers: { basis: 'points', window: { kind: 'rolling', days: 365 }, downgrade: 'never', levels: levels(gold) },
});
/** The tier a qualifying total reaches under `gold` (the direct computation). */
const tierFor = (qualifying: number, gold: number) => levels(gold).filter((l) => qualifying >= l.threshold).at(-1)!.name;

describe('loyalty what-if replays', () => {
  let cairn: TestCairn;
  const ids = Array.from({ length: 20 }, (_, i) => `wi-${String(i).padStart(2, '0')}`);
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${cairn.url}${path}`, { method, headers: { authorization: `Bearer ${cairn.adminKey}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: res.status, body: await res.json() };
  };
  const replay = async (rules: unknown, asOf: string) => {
    const started = await call('POST', '/v1/admin/replays', { projections: ['loyalty'], asOf, rules });
    expect(started.status).toBe(202);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const { body } = await call('GET', `/v1/admin/replays/${started.body.id}`);
      if (body.state !== 'running') {
        expect(body).toMatchObject({ state: 'done', error: null });
        const files = (await call('GET', `/v1/admin/replays/${started.body.id}/files`)).body.files as Record<string, string>;
        return { summary: body.summary, files };
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for the replay: ${JSON.stringify(body)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  let asOf = '';
  const live = new Map<string, { tier: string; qualifying: number; available: number }>();

  beforeAll(async () => {
    cairn = await startCairn();
    const now = Date.now();
    expect((await call('PUT', '/v1/loyalty/program', { program: program(2000), effectiveFrom: '2025-01-01T00:00:00Z' })).status).toBe(200);
    // Customer i: one order of (i + 1) × 150 points 60 days ago, one of 100 points 30 days ago.
    const events = ids.flatMap((c, i) => [
      { type: 'purchase', customerId: c, occurredAt: new Date(now - 60 * DAY).toISOString(), channel: 'web', orderId: `${c}-1`, currency: 'USD', items: [{ productId: 'p', quantity: 1, unitPriceMinor: (i + 1) * 15_000 }], totalMinor: (i + 1) * 15_000 },
      { type: 'purchase', customerId: c, occurredAt: new Date(now - 30 * DAY).toISOString(), channel: 'web', orderId: `${c}-2`, currency: 'USD', items: [{ productId: 'p', quantity: 1, unitPriceMinor: 10_000 }], totalMinor: 10_000 },
    ]);
    const ingested = await call('POST', '/v1/events', { events });
    expect(ingested.status).toBe(202);
    expect((await call('GET', `/v1/customers/${ids[0]}?minPosition=${ingested.body.position.commit}`)).status).toBe(200);
    // The top customer spends every point they hold (a Gold member's second order earned double).
    const top = (await call('GET', `/v1/loyalty/${ids[19]}`)).body;
    expect((await call('POST', `/v1/loyalty/${ids[19]}/redemptions`, { points: top.balance.available, reference: 'gift-card' })).status).toBe(201);
    asOf = new Date(Date.now() + 1000).toISOString();
    for (const c of ids) {
      const s = (await call('GET', `/v1/loyalty/${c}?asOf=${asOf}`)).body;
      live.set(c, { tier: s.tier.name, qualifying: s.tier.qualifying, available: s.balance.available });
    }
  }, 120_000);
  afterAll(async () => {
    await cairn?.close();
  });

  it('lists exactly the customers a direct computation promotes, and the liability change is the sum over them', async () => {
    const { summary, files } = await replay({ loyalty: { program: program(1500) } }, asOf);
    const area = summary.whatIf.areas.loyalty;
    const expected = ids.filter((c) => tierFor(live.get(c)!.qualifying, 1500) !== live.get(c)!.tier);
    const promoted = JSON.parse(files['what-if/loyalty/promoted.json']) as { customerId: string; from: string; to: string; available: { before: number; after: number } }[];
    expect(promoted.map((p) => p.customerId)).toEqual(expected);
    expect(expected.length).toBeGreaterThan(0);
    for (const p of promoted) expect([p.customerId, p.from, p.to]).toEqual([p.customerId, live.get(p.customerId)!.tier, tierFor(live.get(p.customerId)!.qualifying, 1500)]);
    expect(area.demoted.count).toBe(0);
    // Gold before their second order under the what-if (first order 1,500–1,999 points; wi-12 is Gold
    // under both, but only after that order live), they earn it twice over: 100 points more each.
    const changes = JSON.parse(files['what-if/loyalty/changes.json']) as { available: { before: number; after: number }; pending: { before: number; after: number } }[];
    expect(area.liability.available.change).toBe(changes.reduce((s, c) => s + c.available.after - c.available.before, 0));
    expect(area.liability.pending.change).toBe(changes.reduce((s, c) => s + c.pending.after - c.pending.before, 0));
    const goldEarlier = ids.filter((_, i) => (i + 1) * 150 >= 1500 && (i + 1) * 150 < 2000);
    expect(area.liability.available.change).toBe(100 * goldEarlier.length);
    expect(area.changed).toBe(goldEarlier.length);
    expect(area.liability.available.before).toBe([...live.values()].reduce((s, l) => s + l.available, 0));
    expect(area.refusedRedemptions.count).toBe(0);
    // The table diff is empty (the facts do not depend on the program): the answer is the area's.
    expect(summary.whatIf.tables).toEqual({});

    // docs/operations.md shows this output (the parts that do not depend on today's date).
    const doc = readFileSync(join(__dirname, '../../../../docs/operations.md'), 'utf8');
    const shown = /<!-- loyalty-what-if:begin -->\s*```json\n([\s\S]*?)```\s*<!-- loyalty-what-if:end -->/.exec(doc);
    expect(shown).not.toBeNull();
    const { asOf: _asOf, ...stable } = area;
    expect(JSON.parse(shown![1]!)).toEqual(JSON.parse(JSON.stringify(stable, (k, v) => (k === 'first' ? (v as unknown[]).slice(0, 2) : v))));
  }, 180_000);

  it('cairn replay --rules prints the area in one line and writes its lists', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-what-if-'));
    try {
      writeFileSync(join(dir, 'gold.json'), JSON.stringify({ loyalty: { program: program(1500) } }));
      let text = '';
      const out = new Writable({
        write(chunk, _enc, cb) {
          text += chunk.toString();
          cb();
        },
      });
      await main(['replay', '--projections', 'loyalty', '--as-of', asOf, '--rules', join(dir, 'gold.json'), '--out', join(dir, 'out'), '--url', cairn.url, '--key', cairn.adminKey], { out, err: out, env: {} });
      expect(text).toContain('what-if loyalty: members 20 | promoted 3 | demoted 0 | liability pending 0 (0 → 0), available +400 (31000 → 31400) | expired 0 (0 → 0) | refusedRedemptions 0 | changed 4');
      expect(JSON.parse(readFileSync(join(dir, 'out', 'what-if', 'loyalty', 'promoted.json'), 'utf8')).map((p: { customerId: string }) => p.customerId)).toEqual(['wi-09', 'wi-10', 'wi-11']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('a what-if that demotes lists the redemptions it would have refused', async () => {
    const { summary, files } = await replay({ loyalty: { program: program(5000) } }, asOf);
    const area = summary.whatIf.areas.loyalty;
    const expected = ids.filter((c) => live.get(c)!.tier === 'Gold');
    expect((JSON.parse(files['what-if/loyalty/demoted.json']) as { customerId: string; to: string }[]).map((d) => [d.customerId, d.to])).toEqual(expected.map((c) => [c, 'Silver']));
    expect(area.promoted.count).toBe(0);
    // wi-19 spent 3,200 points; without Gold its second order earns 100, not 200: 3,100 were there.
    expect(area.refusedRedemptions).toMatchObject({ count: 1, points: 3200, first: [{ customerId: ids[19], points: 3200, availableThen: 3100 }] });
  }, 180_000);

  it('answers 400 naming the JSON path of bad rules (and live ids that do not exist), before any job starts', async () => {
    const bad = await call('POST', '/v1/admin/replays', { projections: ['loyalty'], rules: { loyalty: { program: { ...program(1500), tiers: { ...program(1500).tiers, levels: [] } }, effectiveFrom: 'soon', extra: 1 }, nope: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.map((f: { field: string }) => f.field).sort()).toEqual(['rules.loyalty.effectiveFrom', 'rules.loyalty.extra', 'rules.loyalty.program.tiers.levels', 'rules.nope']);
    const missing = await call('POST', '/v1/admin/replays', { projections: ['profiles'], rules: { loyalty: { program: program(1500) } } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.fields).toEqual([{ field: 'rules.loyalty', message: expect.stringContaining('needs the loyalty projection') }]);
    // A segment to change must exist: checked against the live read store before the job starts.
    const unknown = await call('POST', '/v1/admin/replays', { projections: ['profiles'], rules: { segments: [{ id: 'no-such-segment', name: 'x', condition: { field: 'orders', op: '>=', value: 1 } }] } });
    expect([unknown.status, unknown.body.error.fields]).toEqual([400, [{ field: 'rules.segments[0].id', message: expect.stringContaining("no live segment 'no-such-segment'") }]]);
  });

  it('groups merged customers as one person, with the identity as of the replay\'s instant (last: it merges two members)', async () => {
    // wi-03 (700 points) and wi-04 (850) are Bronze apart under both programs; as one person (1,550)
    // they are Silver live and Gold under the what-if.
    const [survivor, merged] = [ids[3]!, ids[4]!];
    const merge = await call('POST', '/v1/identity/merges', { survivorId: survivor, mergedId: merged, reason: 'same person' });
    expect(merge.status).toBe(201);
    const after = new Date(Date.now() + 1000).toISOString();
    // Waits for the live ledger to follow the merge (the profiles projection folds it).
    const deadline = Date.now() + 60_000;
    let person = (await call('GET', `/v1/loyalty/${merged}?asOf=${after}`)).body;
    while (person.customerId !== survivor) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for the merge in the ledger: ${JSON.stringify(person)}`);
      await new Promise((r) => setTimeout(r, 100));
      person = (await call('GET', `/v1/loyalty/${merged}?asOf=${after}`)).body;
    }
    expect([person.tier.name, person.tier.qualifying]).toEqual(['Silver', 1550]);
    const persons = new Map<string, { tier: string; qualifying: number; available: number }>();
    for (const c of ids) {
      const s = (await call('GET', `/v1/loyalty/${c}?asOf=${after}`)).body;
      persons.set(s.customerId, { tier: s.tier.name, qualifying: s.tier.qualifying, available: s.balance.available });
    }
    expect(persons.size).toBe(19);

    const { summary, files } = await replay({ loyalty: { program: program(1500) } }, after);
    const area = summary.whatIf.areas.loyalty;
    expect(area.members).toBe(19);
    const promoted = JSON.parse(files['what-if/loyalty/promoted.json']) as { customerId: string; customerIds?: string[]; from: string; to: string; available: { before: number; after: number } }[];
    const expected = [...persons.keys()].filter((c) => tierFor(persons.get(c)!.qualifying, 1500) !== persons.get(c)!.tier).sort();
    expect(promoted.map((p) => p.customerId)).toEqual(expected);
    // The pair appears once, under the person's id, naming both ids; the merged id is not listed alone.
    expect(promoted.filter((p) => p.customerId === survivor || p.customerId === merged)).toEqual([
      { customerId: survivor, customerIds: [survivor, merged], from: 'Silver', to: 'Gold', pending: { before: 0, after: 0 }, available: { before: person.balance.available, after: 1550 }, expired: { before: 0, after: 0 } },
    ]);
    // The liability is the persons' ledgers: before, the sum of each person's live balance; its change, the sum over the changes.
    expect(area.liability.available.before).toBe([...persons.values()].reduce((s, p) => s + p.available, 0));
    const changes = JSON.parse(files['what-if/loyalty/changes.json']) as { available: { before: number; after: number } }[];
    expect(area.liability.available.change).toBe(changes.reduce((s, c) => s + c.available.after - c.available.before, 0));

    // As of an instant before the merge was requested, they are two people again: the first answer, unchanged.
    const earlier = (await replay({ loyalty: { program: program(1500) } }, asOf)).summary.whatIf.areas.loyalty;
    expect([earlier.members, earlier.promoted.count, earlier.liability]).toEqual([20, 3, { pending: { before: 0, after: 0, change: 0 }, available: { before: 31000, after: 31400, change: 400 } }]);
  }, 180_000);
});
