import fc from 'fast-check';
import { sql } from 'kysely';
import { computeLedger, validateProgram, type RecordedCairnEvent, type ProgramVersion } from '@cairn/domain';
import { openReadStore, type ReadStore } from '@cairn/read-models';
import { ProjectionHarness } from '../engine/harness';
import { loyaltyProjection } from './loyalty.projection';
import { loadLedgerFacts } from './loyalty.store';

const PG_URL = process.env.CAIRN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let pos = 0n;
function rec(id: string, type: RecordedCairnEvent['type'], data: Record<string, unknown>, receivedAt = data.occurredAt as string): RecordedCairnEvent {
  pos += 10n;
  return { id, type, data: data as never, metadata: { receivedAt, correlationId: 'x' }, streamId: `customer-${data.customerId}`, revision: 0n, position: pos };
}
const purchase = (id: string, customerId: string, day: number, totalMinor: number, referralCode?: string) =>
  rec(id, 'cairn.purchase.v1', {
    customerId,
    occurredAt: new Date(Date.UTC(2026, 0, 1 + day, 10)).toISOString(),
    channel: 'web',
    orderId: `o-${id}`,
    currency: 'EUR',
    items: [{ productId: 'p1', quantity: 1, unitPriceMinor: totalMinor }],
    totalMinor,
    ...(referralCode ? { referralCode } : {}),
  });

const EVENTS: RecordedCairnEvent[] = [
  rec('ref1', 'cairn.referral.v1', { customerId: 'rita', occurredAt: '2026-01-01T09:00:00Z', channel: 'email', referralCode: 'RITA' }),
  purchase('p1', 'rita', 0, 20_000),
  purchase('p2', 'fred', 3, 5_000, 'RITA'),
  purchase('p3', 'gina', 4, 7_000, 'RITA'),
  rec('v1', 'cairn.view.v1', { customerId: 'rita', occurredAt: '2026-01-02T09:00:00Z', channel: 'web', productId: 'p1' }),
  rec('rv1', 'cairn.review.v1', { customerId: 'fred', occurredAt: '2026-01-05T09:00:00Z', channel: 'web', productId: 'p1', rating: 5 }),
  rec('r1', 'cairn.return.v1', { customerId: 'rita', occurredAt: '2026-01-10T09:00:00Z', channel: 'web', orderId: 'o-p1', items: [{ productId: 'p1', quantity: 1 }], refundMinor: 5_000, currency: 'EUR' }, '2026-02-20T00:00:00Z'),
  rec('anon', 'cairn.view.v1', { anonymousId: 'a1', occurredAt: '2026-01-02T09:00:00Z', channel: 'web', productId: 'p1' }),
];

const program = validateProgram({
  currency: 'EUR',
  earn: { pointsPerUnit: 1, unitMinor: 100, review: { points: 25, requirePurchase: true }, referral: { referrerPoints: 300, friendPoints: 100, maxPerWeek: 5 } },
  pendingDays: 14,
  tiers: { levels: [{ name: 'Member', threshold: 0 }, { name: 'Plus', threshold: 500, multiplier: 1.25 }] },
});
if (!program.ok) throw new Error('bad program');
const PROGRAMS: ProgramVersion[] = [{ version: 1, effectiveFrom: '2025-12-01T00:00:00Z', recordedAt: '2025-12-01T00:00:00Z', eventId: 'prog-1', program: program.program }];
const AS_OF = '2026-03-01T00:00:00Z';

const schemas: string[] = [];
const pgSchema = () => {
  const name = `loyalty_it_${process.pid}_${schemas.length}_${Date.now().toString(36)}`;
  schemas.push(name);
  return name;
};
afterAll(async () => {
  if (schemas.length === 0) return;
  const admin = await openReadStore(PG_URL);
  for (const name of schemas) await sql`drop schema if exists ${sql.id(name)} cascade`.execute(admin.db);
  await admin.close();
});

describe.each([
  ['sqlite', () => openReadStore(':memory:')],
  ['postgres', () => openReadStore(PG_URL, { schema: pgSchema() })],
] as const)('loyalty projection on %s', (_kind, open) => {
  const stores: ReadStore[] = [];
  afterAll(async () => {
    for (const s of stores) await s.close();
  });
  const project = async (events: RecordedCairnEvent[], batch: number) => {
    const store = await open();
    stores.push(store);
    const p = new ProjectionHarness(store, loyaltyProjection());
    for (let i = 0; i < events.length; i += batch) await p.apply(events.slice(i, i + batch));
    return store;
  };
  const ledgers = async (store: ReadStore) => {
    const out: Record<string, unknown> = {};
    for (const c of ['rita', 'fred', 'gina']) out[c] = computeLedger(c, await loadLedgerFacts(store.db, c), PROGRAMS, AS_OF);
    return out;
  };

  it('stores facts and links, and the ledger read back from them is the rules’ ledger', async () => {
    const store = await project(EVENTS, 3);
    const l = (await ledgers(store)) as Record<string, ReturnType<typeof computeLedger>>;
    // rita: 200 earned, 50 taken back by the late return, 2 × 300 referral bonuses
    expect(l.rita.balance).toEqual({ pending: 0, available: 150 + 600 });
    expect(l.rita.corrections).toEqual([expect.objectContaining({ cause: 'r1', kind: 'late return', available: -50 })]);
    expect(l.fred.balance).toEqual({ pending: 0, available: 50 + 25 + 100 });
    expect(l.gina.balance.available).toBe(70 + 100);
    const rows = await store.db.selectFrom('loyalty_facts').select(({ fn }) => fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(rows.n)).toBe(6);
  });

  it('any arrival order, any batching, and replays give the same rows and ledgers', async () => {
    const reference = await ledgers(await project(EVENTS, 100));
    const reversed = [...EVENTS].reverse();
    expect(await ledgers(await project(reversed, 1))).toEqual(reference);
    expect(await ledgers(await project([...EVENTS.slice(4), ...EVENTS, ...EVENTS.slice(0, 4)], 2))).toEqual(reference);
  });
});

describe('loyalty projection: arrival order (property, SQLite)', () => {
  it('any permutation, batching and redelivery of the events gives the same rows', async () => {
    const dump = async (store: ReadStore) => ({
      facts: await store.db.selectFrom('loyalty_facts').selectAll().orderBy('customer_id').orderBy('fact_id').execute(),
      links: await store.db.selectFrom('loyalty_links').selectAll().orderBy('kind').orderBy('key').orderBy('customer_id').orderBy('fact_id').execute(),
    });
    const build = async (events: RecordedCairnEvent[], batch: number) => {
      const store = await openReadStore(':memory:');
      const p = new ProjectionHarness(store, loyaltyProjection());
      for (let i = 0; i < events.length; i += batch) await p.apply(events.slice(i, i + batch));
      const rows = await dump(store);
      await store.close();
      return rows;
    };
    const reference = await build(EVENTS, EVENTS.length);
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray(EVENTS, { minLength: EVENTS.length }), fc.array(fc.constantFrom(...EVENTS), { maxLength: 4 }), fc.integer({ min: 1, max: 5 }), async (order, again, batch) => {
        expect(await build([...order, ...again], batch)).toEqual(reference);
      }),
      { numRuns: 40 },
    );
  });
});
