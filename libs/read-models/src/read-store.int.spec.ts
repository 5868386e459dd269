/**
 * The same cases against SQLite (memory and file) and PostgreSQL. PostgreSQL is required: when it
 * is unreachable the PG cases fail (CI starts it). CAIRN_TEST_PG_URL overrides the default URL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { sql } from 'kysely';
import { CairnError, CHANNELS, emptyProfile, evolveProfile, type FoldableEvent, type Profile } from '@cairn/domain';
import {
  MIGRATIONS,
  countProfiles,
  encodeCursor,
  getProfile,
  listCheckpoints,
  listProfiles,
  loadProfiles,
  openReadStore,
  readCheckpoint,
  saveProfiles,
  writeCheckpoint,
  type ReadStore,
} from './index';

const PG_URL = process.env.CAIRN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

interface Target {
  readonly name: string;
  /** Set in beforeAll. */
  url: string;
  opts: { schema?: string };
  /** Do two opens of `url` see the same data? */
  readonly shared: boolean;
  setUp(): void;
  tearDown(store: ReadStore | undefined): Promise<void>;
}

function sqliteFileTarget(): Target {
  let dir = '';
  return {
    name: 'sqlite file',
    url: '',
    opts: {},
    shared: true,
    setUp() {
      dir = mkdtempSync(join(tmpdir(), 'cairn-rm-'));
      this.url = `sqlite:${join(dir, 'nested', 'dirs', 'read.db')}`;
    },
    async tearDown() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const targets: Target[] = [
  { name: 'sqlite memory', url: ':memory:', opts: {}, shared: false, setUp() {}, async tearDown() {} },
  sqliteFileTarget(),
  {
    name: 'postgres',
    url: PG_URL,
    opts: {},
    shared: true,
    setUp() {
      this.opts = { schema: `rm_it_${process.pid}_${Date.now().toString(36)}` };
    },
    async tearDown(store) {
      if (store !== undefined) await sql`drop schema if exists ${sql.id(this.opts.schema!)} cascade`.execute(store.db);
    },
  },
];

/** A realistic profile: folded by the domain from a few events of every kind, two currencies. */
function foldedProfile(customerId: string, seed = 0): Profile {
  const day = (d: number, h = 10) => `2026-11-${String(1 + (d % 28)).padStart(2, '0')}T${String(h).padStart(2, '0')}:00:00+01:00`;
  const events: FoldableEvent[] = [
    { id: `${customerId}-e1`, type: 'cairn.view.v1', data: { customerId, occurredAt: day(seed), channel: 'web', productId: 'p1' } },
    {
      id: `${customerId}-e2`,
      type: 'cairn.purchase.v1',
      data: { customerId, occurredAt: day(seed + 1), channel: 'app', orderId: 'o1', currency: 'EUR', items: [{ productId: 'p1', quantity: 2, unitPriceMinor: 1999 + seed }], totalMinor: 3998 + 2 * seed },
    },
    {
      id: `${customerId}-e3`,
      type: 'cairn.purchase.v1',
      data: { customerId, occurredAt: day(seed + 2), channel: 'web', orderId: 'o2', currency: 'USD', items: [{ productId: 'p2', quantity: 1, unitPriceMinor: 500 }], totalMinor: 500 },
    },
    { id: `${customerId}-e4`, type: 'cairn.return.v1', data: { customerId, occurredAt: day(seed + 3), channel: 'store', orderId: 'o1', items: [{ productId: 'p1', quantity: 1 }], refundMinor: 1999, currency: 'EUR' } },
    { id: `${customerId}-e5`, type: 'cairn.review.v1', data: { customerId, occurredAt: day(seed + 3, 11), channel: 'email', productId: 'p1', rating: 5 } },
    { id: `${customerId}-e6`, type: 'cairn.review.v1', data: { customerId, occurredAt: day(seed + 3, 12), channel: 'email', productId: 'p2', rating: 2 } },
    { id: `${customerId}-e7`, type: 'cairn.review.v1', data: { customerId, occurredAt: day(seed + 3, 13), channel: 'email', productId: 'p3', rating: 2 } },
    { id: `${customerId}-e8`, type: 'cairn.referral.v1', data: { customerId, occurredAt: day(seed + 4), channel: 'social', referralCode: 'R1' } },
  ];
  return events.reduce<Profile | undefined>((p, e) => evolveProfile(p, customerId, e, { currency: 'EUR' }), undefined)!;
}

/** A cheap profile for volume tests. */
function smallProfile(customerId: string, views = 1): Profile {
  return {
    customerId,
    firstSeenAt: '2026-11-01T09:00:00.000Z',
    lastSeenAt: '2026-11-02T09:00:00.000Z',
    views,
    orders: 0,
    currency: 'EUR',
    grossMinor: 0,
    refundedMinor: 0,
    netMinor: 0,
    aovMinor: null,
    lastOrder: null,
    reviews: 0,
    averageRating: null,
    referralsMade: 0,
    channels: ['web'],
    otherCurrencies: {},
    state: emptyProfile(customerId, '2026-11-01T09:00:00.000Z', 'EUR').state,
    ...extensionOf(emptyProfile(customerId, '2026-11-01T09:00:00.000Z', 'EUR')),
  };
}

function extensionOf(p: Profile) {
  const { firstOrder, medianDaysBetweenOrders, reviewStats, referralStats, returnRate, favouriteCategories, consent } = p;
  return { firstOrder, medianDaysBetweenOrders, reviewStats, referralStats, returnRate, favouriteCategories, consent };
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

async function expectValidationError(p: Promise<unknown>): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CairnError);
  expect((err as CairnError).code).toBe('CAIRN.VALIDATION');
}

describe.each(targets)('read store on $name', (target) => {
  let store: ReadStore | undefined;
  const s = (): ReadStore => {
    if (store === undefined) throw new Error(`${target.name} store did not open (see beforeAll)`);
    return store;
  };

  beforeAll(async () => {
    target.setUp();
    try {
      store = await openReadStore(target.url, target.opts);
    } catch (err) {
      if (target.name !== 'postgres') throw err;
      throw new Error(`PostgreSQL is required by these tests (CI starts it; set CAIRN_TEST_PG_URL to point elsewhere): ${(err as Error).message}`);
    }
  });

  afterAll(async () => {
    await target.tearDown(store);
    await store?.close();
  });

  beforeEach(async () => {
    await s().db.deleteFrom('profiles').execute();
    await s().db.deleteFrom('checkpoints').execute();
  });

  it('reports its kind and answers ping', async () => {
    expect(s().kind).toBe(target.name === 'postgres' ? 'postgres' : 'sqlite');
    await expect(s().ping()).resolves.toBeUndefined();
  });

  it('runs migrations once: opening again (twice, concurrently) is idempotent and keeps data', async () => {
    await s().transaction(async (trx) => {
      await saveProfiles(trx, [smallProfile('keep-me')]);
      await writeCheckpoint(trx, 'profiles', 42n, 1);
    });
    const [a, b] = await Promise.all([openReadStore(target.url, target.opts), openReadStore(target.url, target.opts)]);
    try {
      for (const other of [a, b, s()]) {
        const versions = await other.db.selectFrom('schema_migrations').select(['version', 'name']).orderBy('version').execute();
        expect(versions.map((v) => [Number(v.version), v.name])).toEqual(MIGRATIONS.map((m) => [m.version, m.name]));
      }
      if (target.shared) {
        expect(await getProfile(a.db, 'keep-me')).toEqual(smallProfile('keep-me'));
        expect(await readCheckpoint(b.db, 'profiles')).toBe(42n);
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('round-trips checkpoints exactly, including positions above 2^63, with a running total', async () => {
    expect(await readCheckpoint(s().db, 'profiles')).toBeNull();
    const big = 2n ** 63n + 5n;
    await s().transaction((trx) => writeCheckpoint(trx, 'profiles', big, 10));
    expect(await readCheckpoint(s().db, 'profiles')).toBe(big);

    const max = 2n ** 64n - 1n;
    await s().transaction((trx) => writeCheckpoint(trx, 'profiles', max, 5));
    await s().transaction((trx) => writeCheckpoint(trx, 'other', 0n, 0));
    expect(await readCheckpoint(s().db, 'profiles')).toBe(max);
    expect(await readCheckpoint(s().db, 'other')).toBe(0n);

    const list = await listCheckpoints(s().db);
    expect(list.map(({ updatedAt: _u, ...rest }) => rest)).toEqual([
      { projection: 'other', position: 0n, eventsProcessed: 0 },
      { projection: 'profiles', position: max, eventsProcessed: 15 },
    ]);
    for (const c of list) expect(new Date(c.updatedAt).toISOString()).toBe(c.updatedAt);
  });

  it('rejects positions outside unsigned 64-bit and bad counts', async () => {
    await expectValidationError(s().transaction((trx) => writeCheckpoint(trx, 'p', -1n, 0)));
    await expectValidationError(s().transaction((trx) => writeCheckpoint(trx, 'p', 2n ** 64n, 0)));
    await expectValidationError(s().transaction((trx) => writeCheckpoint(trx, 'p', 1n, -1)));
    expect(await listCheckpoints(s().db)).toEqual([]);
  });

  it('is atomic: a throw inside the transaction writes neither rows nor checkpoint', async () => {
    await s().transaction(async (trx) => {
      await saveProfiles(trx, [foldedProfile('c-1')]);
      await writeCheckpoint(trx, 'profiles', 100n, 8);
    });
    const boom = new Error('crash mid-batch');
    await expect(
      s().transaction(async (trx) => {
        await saveProfiles(trx, [foldedProfile('c-1', 3), foldedProfile('c-2')]);
        await writeCheckpoint(trx, 'profiles', 200n, 16);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await countProfiles(s().db)).toBe(1);
    expect(await getProfile(s().db, 'c-1')).toEqual(foldedProfile('c-1'));
    expect(await listCheckpoints(s().db)).toEqual([expect.objectContaining({ projection: 'profiles', position: 100n, eventsProcessed: 8 })]);
    // The store is still usable after the rollback.
    await s().transaction((trx) => writeCheckpoint(trx, 'profiles', 300n, 1));
    expect(await readCheckpoint(s().db, 'profiles')).toBe(300n);
  });

  it('returns the transaction result on commit', async () => {
    const out = await s().transaction(async (trx) => {
      await saveProfiles(trx, [smallProfile('r-1')]);
      return 'done';
    });
    expect(out).toBe('done');
    expect(await countProfiles(s().db)).toBe(1);
  });

  it('round-trips a folded profile deep-equal, with its queryable columns', async () => {
    const p = foldedProfile('cust-α');
    expect(p.otherCurrencies).toHaveProperty('USD');
    expect(p.averageRating).toBe(3);
    await s().transaction((trx) => saveProfiles(trx, [p, smallProfile('cust-b')]));
    expect(await getProfile(s().db, 'cust-α')).toStrictEqual(p);
    expect(await getProfile(s().db, 'nobody')).toBeNull();
    const loaded = await loadProfiles(s().db, ['cust-α', 'cust-b', 'nobody']);
    expect([...loaded.keys()].sort()).toEqual(['cust-b', 'cust-α']);
    expect(loaded.get('cust-α')).toStrictEqual(p);

    const row = await s().db.selectFrom('profiles').selectAll().where('customer_id', '=', 'cust-α').executeTakeFirstOrThrow();
    expect({ ...row, doc: undefined }).toStrictEqual({
      customer_id: 'cust-α',
      first_seen_at: p.firstSeenAt,
      last_seen_at: p.lastSeenAt,
      views: 1,
      orders: 2,
      currency: 'EUR',
      gross_minor: p.grossMinor,
      refunded_minor: 1999,
      net_minor: p.grossMinor - 1999,
      aov_minor: p.aovMinor,
      last_order_at: p.lastOrder!.occurredAt,
      reviews: 3,
      average_rating: 3,
      referrals_made: 1,
      channels: 'app,email,social,store,web',
      doc: undefined,
      // The read path's columns (migration 520) are the profiles projection's; saveProfiles leaves them empty.
      view: null,
      identity: null,
      first_order_at: null,
    });
    const empty = await s().db.selectFrom('profiles').select(['aov_minor', 'last_order_at', 'average_rating']).where('customer_id', '=', 'cust-b').executeTakeFirstOrThrow();
    expect(empty).toEqual({ aov_minor: null, last_order_at: null, average_rating: null });
  });

  it('round-trips arbitrary folded profiles (property)', async () => {
    const event = fc.record({
      kind: fc.constantFrom('view', 'purchase', 'return', 'review', 'referral', 'identify'),
      minute: fc.integer({ min: 0, max: 60 * 24 * 60 }),
      channel: fc.constantFrom(...CHANNELS),
      order: fc.integer({ min: 1, max: 4 }),
      currency: fc.constantFrom('EUR', 'USD', 'GBP'),
      amount: fc.integer({ min: 0, max: 2 ** 40 }),
      rating: fc.integer({ min: 1, max: 5 }),
    });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 12 }), async (evs) => {
        const customerId = `prop-${n++}`;
        let p: Profile | undefined;
        evs.forEach((e, i) => {
          const occurredAt = new Date(Date.UTC(2026, 0, 1) + e.minute * 60_000).toISOString();
          const common = { customerId, occurredAt, channel: e.channel };
          const data =
            e.kind === 'purchase'
              ? { ...common, orderId: `o${e.order}`, currency: e.currency, items: [], totalMinor: e.amount }
              : e.kind === 'return'
                ? { ...common, orderId: `o${e.order}`, items: [], refundMinor: e.amount, currency: e.currency }
                : e.kind === 'review'
                  ? { ...common, productId: 'p', rating: e.rating }
                  : e.kind === 'referral'
                    ? { ...common, referralCode: 'r' }
                    : e.kind === 'identify'
                      ? { ...common, anonymousId: 'a' }
                      : { ...common, productId: 'p' };
          p = evolveProfile(p, customerId, { id: `${customerId}-${i}`, type: `cairn.${e.kind}.v1`, data } as FoldableEvent, { currency: 'EUR' });
        });
        await s().transaction((trx) => saveProfiles(trx, [p!]));
        expect(await getProfile(s().db, customerId)).toStrictEqual(p);
      }),
      { numRuns: 25 },
    );
  });

  it('upserts: saving again overwrites every column; within one call the last profile wins', async () => {
    await s().transaction((trx) => saveProfiles(trx, [smallProfile('u-1', 1), smallProfile('u-2', 1)]));
    const updated = foldedProfile('u-1', 7);
    await s().transaction((trx) => saveProfiles(trx, [smallProfile('u-1', 99), updated, smallProfile('u-3', 5)]));
    expect(await countProfiles(s().db)).toBe(3);
    expect(await getProfile(s().db, 'u-1')).toStrictEqual(updated);
    expect(await getProfile(s().db, 'u-2')).toStrictEqual(smallProfile('u-2', 1));
    const row = await s().db.selectFrom('profiles').select(['views', 'orders', 'net_minor', 'channels']).where('customer_id', '=', 'u-1').executeTakeFirstOrThrow();
    expect(row).toEqual({ views: updated.views, orders: updated.orders, net_minor: updated.netMinor, channels: updated.channels.join(',') });
  });

  it('refuses non-integer money instead of storing it', async () => {
    await expectValidationError(s().transaction((trx) => saveProfiles(trx, [{ ...smallProfile('m-1'), grossMinor: 1.5 }])));
    expect(await countProfiles(s().db)).toBe(0);
  });

  it('paginates by keyset in byte order: no duplicates, no gaps, null cursor on the last page', async () => {
    const alphabet = ['A', 'Z', 'a', 'z', '0', '9', '-', '_', '.', 'é', 'ß'];
    const ids = Array.from({ length: 250 }, (_, i) => `${alphabet[i % alphabet.length]}${alphabet[(i * 7) % alphabet.length]}-${i}`);
    await s().transaction((trx) => saveProfiles(trx, ids.map((id) => smallProfile(id))));
    expect(await countProfiles(s().db)).toBe(250);

    for (const limit of [1, 7, 50, 250, 1000]) {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await listProfiles(s().db, { limit, ...(cursor !== undefined ? { cursor } : {}) });
        expect(page.items.length).toBeLessThanOrEqual(limit);
        expect(page.items.length).toBeGreaterThan(0);
        seen.push(...page.items.map((p) => p.customerId));
        cursor = page.nextCursor ?? undefined;
        pages++;
      } while (cursor !== undefined);
      expect(pages).toBe(Math.ceil(250 / limit));
      expect(seen).toEqual([...ids].sort(byteOrder));
    }
    // The cursor is the base64url of the last id: a page resumes strictly after it.
    const after = await listProfiles(s().db, { cursor: encodeCursor('a'), limit: 3 });
    expect(after.items.every((p) => byteOrder(p.customerId, 'a') > 0)).toBe(true);
  });

  it('returns an empty page on an empty table and rejects invalid cursors and limits with CAIRN.VALIDATION', async () => {
    expect(await listProfiles(s().db, { limit: 10 })).toEqual({ items: [], nextCursor: null });
    for (const cursor of ['', 'not a cursor!', 'abc=', '+/+/', '_w', 'A']) {
      await expectValidationError(listProfiles(s().db, { cursor, limit: 10 }));
    }
    for (const limit of [0, -1, 1.5, Number.NaN, 1001]) {
      await expectValidationError(listProfiles(s().db, { limit }));
    }
  });

  it('loads more than 40k ids in chunks, ignoring duplicates and unknown ids', async () => {
    const ids = Array.from({ length: 41_000 }, (_, i) => `bulk-${i.toString(36).padStart(4, '0')}`);
    await s().transaction((trx) => saveProfiles(trx, ids.map((id, i) => smallProfile(id, i))));
    expect(await countProfiles(s().db)).toBe(ids.length);
    const wanted = [...ids, ...ids.slice(0, 100), 'missing-1', 'missing-2'];
    const loaded = await loadProfiles(s().db, wanted);
    expect(loaded.size).toBe(ids.length);
    expect(loaded.get('bulk-0000')).toStrictEqual(smallProfile('bulk-0000', 0));
    expect(loaded.get(ids[40_999]!)).toStrictEqual(smallProfile(ids[40_999]!, 40_999));
    expect(await loadProfiles(s().db, [])).toEqual(new Map());
  });

  it('closes idempotently', async () => {
    const other = await openReadStore(target.url, target.opts);
    await other.close();
    await expect(other.close()).resolves.toBeUndefined();
  });
});

describe('openReadStore on an unreachable PostgreSQL', () => {
  it('fails fast with CAIRN.UNAVAILABLE and a message naming the server, password hidden', async () => {
    const err = await openReadStore('postgres://postgres:s3cret@127.0.0.1:1/test').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CairnError);
    expect((err as CairnError).code).toBe('CAIRN.UNAVAILABLE');
    expect((err as Error).message).toMatch(/^PostgreSQL unreachable at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/test: /);
    expect((err as Error).message).not.toContain('s3cret');
  });
});
