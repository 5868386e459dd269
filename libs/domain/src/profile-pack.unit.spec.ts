import { deriveProfile, foldProfileCore, packProfileCore, toUtcIso, unpackProfileCore, type FoldableEvent, type ProfileCore } from './profile';

const rules = { currency: 'USD' };
let n = 0;
const ev = (type: FoldableEvent['type'], occurredAt: string, extra: Record<string, unknown> = {}, channel = 'web'): FoldableEvent => ({
  id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
  type,
  data: { customerId: 'c1', occurredAt, channel, ...extra } as never,
});
const fold = (core: ProfileCore | undefined, events: readonly FoldableEvent[]) => events.reduce<ProfileCore | undefined>((c, e) => foldProfileCore(c, 'c1', e, rules), core)!;

describe('packProfileCore / unpackProfileCore', () => {
  const history: FoldableEvent[] = [
    ev('cairn.view.v1', '2026-01-01T00:00:00Z', { productId: 'p', category: '__proto__' }, 'app'),
    ev('cairn.purchase.v1', '2026-01-02T00:00:00Z', { orderId: 'constructor', currency: 'USD', items: [{ productId: 'p', category: 'toString', quantity: 2, unitPriceMinor: 50 }], totalMinor: 100 }),
    ev('cairn.purchase.v1', '2026-01-03T00:00:00Z', { orderId: '__proto__', currency: 'EUR', referralCode: 'R1', items: [{ productId: 'p', quantity: 1, unitPriceMinor: 7 }], totalMinor: 7 }),
    ev('cairn.return.v1', '2026-01-04T00:00:00Z', { orderId: 'constructor', items: [{ productId: 'p', quantity: 1 }], refundMinor: 50, currency: 'USD' }),
    ev('cairn.review.v1', '2026-01-05T00:00:00Z', { productId: 'p', rating: 4 }),
    ev('cairn.referral.v1', '2026-01-06T00:00:00Z', { referralCode: 'R9', refereeId: 'c7' }),
  ];
  const later: FoldableEvent[] = [
    ev('cairn.view.v1', '2026-02-01T00:00:00Z', { productId: 'p', category: '__proto__' }),
    ev('cairn.purchase.v1', '2026-02-02T00:00:00Z', { orderId: 'toString', currency: 'USD', items: [{ productId: 'p', category: 'x', quantity: 1, unitPriceMinor: 9 }], totalMinor: 9 }),
    ev('cairn.return.v1', '2026-02-03T00:00:00Z', { orderId: '__proto__', items: [{ productId: 'p', quantity: 1 }], refundMinor: 7, currency: 'EUR' }),
  ];

  it('derives the same profile, byte for byte, from the unpacked core', () => {
    const core = fold(undefined, history);
    expect(JSON.stringify(deriveProfile(unpackProfileCore(packProfileCore(core))))).toBe(JSON.stringify(deriveProfile(core)));
  });

  it('folds later events into an unpacked core exactly as into the original', () => {
    const direct = fold(fold(undefined, history), later);
    const viaPack = fold(unpackProfileCore(packProfileCore(fold(undefined, history))), later);
    expect(JSON.stringify(deriveProfile(viaPack))).toBe(JSON.stringify(deriveProfile(direct)));
    expect(deriveProfile(viaPack).orders).toBe(3);
  });

  it('is smaller than the core as JSON with keys', () => {
    const core = fold(undefined, history);
    expect(packProfileCore(core).length).toBeLessThan(JSON.stringify(core).length * 0.8);
  });

  it('refuses a pack of an unknown version', () => {
    expect(() => unpackProfileCore('[99]')).toThrow(/version 99/);
  });
});

describe('toUtcIso', () => {
  it('gives what Date#toISOString gives, for canonical instants and for every other form', () => {
    const inputs = ['2026-01-02T03:04:05.678Z', '2025-02-28T23:59:59.999Z', '2025-02-29T00:00:00.000Z', '2024-02-29T12:00:00.000Z', '2026-01-02T03:04:05Z', '2026-01-02T04:04:05.678+01:00', '2025-04-31T00:00:00.000Z'];
    for (const s of inputs) expect(toUtcIso(s)).toBe(new Date(s).toISOString());
  });
});
