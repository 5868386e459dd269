import { EMAIL_ID_RULE, emailIdErrors, looksLikeEmail, personalValues, sealedPaths, withPersonalValues } from './personal-data';

describe('personal data, declared once', () => {
  it('finds every trait, review text, return reason and personal context value, and nothing else', () => {
    expect(personalValues('cairn.identify.v1', { customerId: 'c1', anonymousId: 'a1', traits: { email: 'e', name: 'n', vip: true, visits: 3 }, context: { locale: 'de', userAgent: 'UA', ip: '10.0.0.1' } }).map((v) => v.path)).toEqual([
      'traits.email',
      'traits.name',
      'traits.vip',
      'traits.visits',
      'context.userAgent',
      'context.ip',
    ]);
    expect(personalValues('cairn.review.v1', { productId: 'p', rating: 4, title: 't', body: 'b' }).map((v) => v.path)).toEqual(['title', 'body']);
    expect(personalValues('cairn.return.v1', { orderId: 'o', reason: 'r', refundMinor: 1 }).map((v) => v.path)).toEqual(['reason']);
    expect(personalValues('cairn.purchase.v1', { orderId: 'o', totalMinor: 5, couponCode: 'X', context: { campaign: 'spring' } })).toEqual([]);
    expect(personalValues('cairn.segment.defined.v1', { name: 'x' })).toEqual([]);
  });

  it('replaces values at their paths without touching the input', () => {
    const data = { traits: { email: 'e', name: 'n' }, context: { userAgent: 'UA', locale: 'de' }, orderId: 'o' };
    const out = withPersonalValues(data, (p, v) => `${p}=${String(v)}`, ['traits.email', 'traits.name', 'context.userAgent']);
    expect(out).toEqual({ traits: { email: 'traits.email=e', name: 'traits.name=n' }, context: { userAgent: 'context.userAgent=UA', locale: 'de' }, orderId: 'o' });
    expect(data).toEqual({ traits: { email: 'e', name: 'n' }, context: { userAgent: 'UA', locale: 'de' }, orderId: 'o' });
    expect(withPersonalValues(data, () => 'x', [])).toBe(data);
  });

  it('knows which values are sealed', () => {
    expect(sealedPaths('cairn.identify.v1', { traits: { email: 'cairn:pii:v1:k:abc', name: 'plain' }, customerId: 'cairn:pii:v1:k:x' })).toEqual(['traits.email', 'customerId']);
  });

  it('refuses ids that look like email addresses, unless allowed', () => {
    expect(['ada@example.com', 'a.b+c@shop.co.uk'].map(looksLikeEmail)).toEqual([true, true]);
    expect(['ada', 'user@host', 'c-42', 'a@b.', '@x.com'].map(looksLikeEmail)).toEqual([false, false, false, false, false]);
    expect(emailIdErrors({ customerId: 'ada@example.com', anonymousId: 'v1', refereeId: 'bo@example.org' }, false)).toEqual([
      { field: 'customerId', message: EMAIL_ID_RULE },
      { field: 'refereeId', message: EMAIL_ID_RULE },
    ]);
    expect(emailIdErrors({ customerId: 'ada@example.com' }, true)).toEqual([]);
  });
});
