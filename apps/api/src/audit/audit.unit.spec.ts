/** What an audit event may hold: ids only; and the cursor of GET /v1/admin/audit. */
import { cleanTargets, decodeAuditCursor, encodeAuditCursor } from './audit';

describe('audit targets', () => {
  it('keep id-shaped strings and integers, drop free text, emails, objects and odd keys', () => {
    expect(
      cleanTargets({
        id: 'c-42',
        n: 7,
        list: ['a', 'b c', 'd'],
        reason: 'late delivery',
        email: 'ada@example.com',
        nested: { id: 'x' },
        'bad key': 'x',
        empty: [],
        long: 'x'.repeat(129),
      }),
    ).toEqual({ id: 'c-42', n: '7', list: ['a', 'd'] });
    expect(cleanTargets({ many: Array.from({ length: 500 }, (_, i) => `i${i}`) }).many).toHaveLength(100);
    expect(cleanTargets(undefined)).toEqual({});
  });

  it('cursors round-trip; anything else is not a cursor', () => {
    expect(decodeAuditCursor(encodeAuditCursor(0))).toBe(0);
    expect(decodeAuditCursor(encodeAuditCursor(123456))).toBe(123456);
    for (const bad of ['', 'x', 'YWJj', '../../', 'a'.repeat(41), Buffer.from('a-1').toString('base64url')]) expect(decodeAuditCursor(bad)).toBeNull();
  });
});
