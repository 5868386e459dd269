import { CairnError, emptyProfile } from '@cairn/domain';
import { decodeCursor, encodeCursor, openReadStore, parseReadStoreUrl, profileToRow, redact, storeUnavailableReason } from './index';

describe('parseReadStoreUrl', () => {
  it.each([
    ['postgres://u@h:5432/db', { kind: 'postgres', url: 'postgres://u@h:5432/db' }],
    ['postgresql://u:p@h/db', { kind: 'postgres', url: 'postgresql://u:p@h/db' }],
    [':memory:', { kind: 'sqlite', path: ':memory:' }],
    ['sqlite::memory:', { kind: 'sqlite', path: ':memory:' }],
    ['sqlite:data/read.db', { kind: 'sqlite', path: 'data/read.db' }],
    ['sqlite:///var/lib/cairn/read.db', { kind: 'sqlite', path: '/var/lib/cairn/read.db' }],
    ['./read.db', { kind: 'sqlite', path: './read.db' }],
    ['/tmp/x/read.db', { kind: 'sqlite', path: '/tmp/x/read.db' }],
  ])('%s', (url, expected) => {
    expect(parseReadStoreUrl(url)).toEqual(expected);
  });

  it.each(['', 'sqlite:', 'mysql://h/db'])('rejects %j with CAIRN.CONFIG', (url) => {
    expect(() => parseReadStoreUrl(url)).toThrow(expect.objectContaining({ code: 'CAIRN.CONFIG' }) as unknown as Error);
  });
});

describe('openReadStore options', () => {
  it('refuses a schema on SQLite and an unsafe schema name on PostgreSQL', async () => {
    await expect(openReadStore(':memory:', { schema: 'x' })).rejects.toMatchObject({ code: 'CAIRN.CONFIG' });
    await expect(openReadStore('postgres://h/db', { schema: 'x; drop table y' })).rejects.toMatchObject({ code: 'CAIRN.CONFIG' });
  });
});

describe('cursor', () => {
  it('round-trips any non-empty id as base64url', () => {
    for (const id of ['a', 'cust-42', 'é/ß+=', '💡', ' ']) {
      const c = encodeCursor(id);
      expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodeCursor(c)).toBe(id);
    }
  });

  it.each(['', '!!', 'YQ==', 'YR', '_w', 'A'])('rejects %j with a CairnError CAIRN.VALIDATION', (c) => {
    let err: unknown;
    try {
      decodeCursor(c);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CairnError);
    expect((err as CairnError).code).toBe('CAIRN.VALIDATION');
  });
});

describe('redact', () => {
  it('hides the password only', () => {
    expect(redact('postgres://me:pw@h:5432/db')).toBe('postgres://me:***@h:5432/db');
    expect(redact('postgres://me@h/db')).toBe('postgres://me@h/db');
  });
});

describe('profileToRow', () => {
  it('refuses unsafe integers', () => {
    const p = {
      ...emptyProfile('c', 'x', 'EUR'),
      customerId: 'c', firstSeenAt: 'x', lastSeenAt: 'x', views: 0, orders: 0, currency: 'EUR', grossMinor: 2 ** 53, refundedMinor: 0, netMinor: 0,
      aovMinor: null, lastOrder: null, reviews: 0, averageRating: null, referralsMade: 0, channels: [], otherCurrencies: {},
    };
    expect(() => profileToRow(p)).toThrow(expect.objectContaining({ code: 'CAIRN.VALIDATION' }) as unknown as Error);
  });
});

describe('storeUnavailableReason', () => {
  const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });
  it.each([
    [withCode('SQLITE_FULL'), 'disk full'],
    [withCode('SQLITE_IOERR_WRITE'), 'I/O error'],
    [withCode('SQLITE_READONLY_DBMOVED'), 'read-only'],
    [withCode('SQLITE_BUSY'), 'busy'],
    [withCode('57P01', 'terminating connection due to administrator command'), 'connection lost'],
    [withCode('08006'), 'connection lost'],
    [withCode('53100'), 'disk full'],
    [withCode('ECONNREFUSED'), 'unreachable'],
    [new Error('Connection terminated unexpectedly'), 'connection lost'],
    [new Error('Client has encountered a connection error and is not queryable'), 'connection lost'],
  ])('%s → %s', (err, reason) => {
    expect(storeUnavailableReason(err)).toBe(reason);
  });

  it.each([[withCode('SQLITE_CONSTRAINT_UNIQUE')], [withCode('23505')], [withCode('42P01')], [new Error('boom')], ['text'], [null]])('%s is not an outage', (err) => {
    expect(storeUnavailableReason(err)).toBeUndefined();
  });
});
