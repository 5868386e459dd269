import fc from 'fast-check';
import { automationMetrics, grantFor, inHoldout, parseAutomationBody, redemptions, voucherCode, type CouponUse, type Grant } from './vouchers';

const rule = { id: 'r1', name: 'x', segmentId: 's', voucher: { kind: 'percent' as const, percent: 10 }, validDays: 30, oncePerDays: 90, holdoutPercent: 0 };

describe('vouchers', () => {
  it('grants at most once per P days, and codes are stable per (rule, trigger)', () => {
    expect(grantFor(rule, 'c', '2026-06-01T00:00:00Z', null)).toBe('voucher');
    expect(grantFor(rule, 'c', '2026-06-01T00:00:00Z', '2026-03-10T00:00:00Z')).toBeNull(); // 83 days
    expect(grantFor(rule, 'c', '2026-06-10T00:00:00Z', '2026-03-10T00:00:00Z')).toBe('voucher'); // 92 days
    expect(voucherCode('r1', 'e1')).toBe(voucherCode('r1', 'e1'));
    expect(voucherCode('r1', 'e1')).toMatch(/^WB-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    const held = Array.from({ length: 2000 }, (_, i) => inHoldout('r1', `c${i}`, 20)).filter(Boolean).length;
    expect(held).toBeGreaterThan(300);
    expect(held).toBeLessThan(500);
  });

  it('redeems with the first valid use by business time, whatever order the uses arrive in', () => {
    const grants: Grant[] = [
      { customerId: 'a', outcome: 'voucher', triggeredAt: '2026-06-01T00:00:00.000Z', expiresAt: '2026-07-01T00:00:00.000Z', code: 'WB-A' },
      { customerId: 'b', outcome: 'voucher', triggeredAt: '2026-06-01T00:00:00.000Z', expiresAt: '2026-07-01T00:00:00.000Z', code: 'WB-B' },
    ];
    const use = (eventId: string, code: string, customerId: string, occurredAt: string): CouponUse => ({ eventId, code, customerId, orderId: `o-${eventId}`, occurredAt, totalMinor: 100, currency: 'USD' });
    const uses = [
      use('1', 'WB-A', 'a', '2026-05-30T00:00:00.000Z'), // before issue
      use('2', 'WB-A', 'a', '2026-06-05T00:00:00.000Z'), // redeems
      use('3', 'WB-A', 'a', '2026-06-06T00:00:00.000Z'), // second use
      use('4', 'WB-B', 'a', '2026-06-06T00:00:00.000Z'), // another customer's code
      use('5', 'WB-B', 'b', '2026-07-02T00:00:00.000Z'), // expired
      use('6', 'NOPE', 'b', '2026-06-02T00:00:00.000Z'), // not a voucher: ignored
    ];
    fc.assert(
      fc.property(fc.shuffledSubarray(uses, { minLength: uses.length, maxLength: uses.length }), (shuffled) => {
        const r = redemptions(grants, shuffled);
        return [...r.redeemed.values()].map((x) => x.eventId).join() === '2' && r.flagged.map((f) => f.eventId).sort().join() === '1,3,4,5';
      }),
    );
    const m = automationMetrics(
      [
        ...grants,
        { customerId: 'h', outcome: 'holdout', triggeredAt: '2026-06-01T00:00:00.000Z', expiresAt: '2026-07-01T00:00:00.000Z', code: null },
        // withheld for lack of consent: counted apart, in neither win-back group
        { customerId: 'w', outcome: 'withheld', triggeredAt: '2026-06-01T00:00:00.000Z', expiresAt: '2026-07-01T00:00:00.000Z', code: null },
      ],
      uses,
      [{ customerId: 'a', occurredAt: '2026-06-05T00:00:00.000Z' }, { customerId: 'h', occurredAt: '2026-08-01T00:00:00.000Z' }],
    );
    expect(m).toEqual({ vouchersIssued: 2, vouchersRedeemed: 1, redeemingRevenueMinor: { USD: 100 }, flaggedUses: 4, consentWithheld: 1, winBack: { withVoucher: { customers: 2, won: 1, rate: 0.5 }, holdout: { customers: 1, won: 0, rate: 0 } } });
  });

  it('parses a fixed-amount rule', () => {
    expect(parseAutomationBody({ name: ' Ten off ', segmentId: 'E5C53A7A-6DDD-4F82-BF24-6DDA8FCA645E', voucher: { kind: 'fixed', amountMinor: 1000, currency: 'EUR' }, validDays: 14, oncePerDays: 60 })).toEqual({
      name: 'Ten off',
      segmentId: 'e5c53a7a-6ddd-4f82-bf24-6dda8fca645e',
      voucher: { kind: 'fixed', amountMinor: 1000, currency: 'EUR' },
      validDays: 14,
      oncePerDays: 60,
      holdoutPercent: 0,
    });
  });

  it('takes the consent a rule requires, naming a bad purpose', () => {
    const body = { name: 'Mail', segmentId: 'e5c53a7a-6ddd-4f82-bf24-6dda8fca645e', voucher: { kind: 'percent', percent: 10 }, validDays: 14, oncePerDays: 60 };
    expect(parseAutomationBody({ ...body, requiresConsent: 'email_marketing' }).requiresConsent).toBe('email_marketing');
    expect(parseAutomationBody(body)).not.toHaveProperty('requiresConsent');
    expect(() => parseAutomationBody({ ...body, requiresConsent: 'E-mail' })).toThrow(/requiresConsent must be email_marketing, personalization, analytics/);
  });
});
