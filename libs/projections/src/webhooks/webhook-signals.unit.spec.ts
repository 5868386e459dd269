/**
 * The pure part of the webhook signals: what one person's state change yields. Re-running with
 * the state it returned yields nothing (so a round re-run enqueues nothing), and every signal's
 * key is a function of its cause only (so a re-run from a lost state derives the same keys, which
 * the outbox's unique key refuses).
 */
import { DEFAULT_LIFECYCLE_RULES, emptyProfile, type Ledger, type Profile } from '@cairn/domain';
import { signalDeliveryId, signalsOf, type PersonLedgers } from './webhook-signals';

const NOW = new Date('2026-12-02T12:00:00.000Z');
const DAY = 86_400_000;
const iso = (t: number) => new Date(t).toISOString();

function ledger(asOf: string, tier: { name: string; level: number } | null, movements: Ledger['movements'], history: Ledger['tierHistory']): Ledger {
  return { customerId: 'c1', asOf, tier: tier && { ...tier, since: asOf, keptUntil: null, basis: 'points', qualifying: 110, next: null, contributions: [] }, movements, tierHistory: history, balance: { pending: 0, available: 110 } } as unknown as Ledger;
}

const earned = (cause: string, at: string, points: number) => ({ at, type: 'earned' as const, pending: points, available: 0, cause, ruleVersion: 1, note: '' });
const expired = (at: string, points: number) => ({ at, type: 'expired' as const, pending: 0, available: -points, cause: null, ruleVersion: 1, note: '' });

function person(lastOrderDaysAgo: number): Profile {
  const p = emptyProfile('c1', iso(NOW.getTime() - 500 * DAY), 'USD');
  const order = { orderId: 'o1', occurredAt: iso(NOW.getTime() - lastOrderDaysAgo * DAY) };
  return { ...p, firstOrder: order, lastOrder: order } as unknown as Profile;
}

describe('signalsOf', () => {
  const history = [
    { at: iso(NOW.getTime() - 2 * DAY), from: null, to: 'Bronze', qualifying: 50, reason: '' },
    { at: iso(NOW.getTime() - DAY), from: 'Bronze', to: 'Silver', qualifying: 110, reason: '' },
  ];
  const l: PersonLedgers = {
    personId: 'c1',
    at: new Map([
      [NOW.toISOString(), ledger(NOW.toISOString(), { name: 'Silver', level: 1 }, [earned('e1', history[0]!.at, 50), earned('e2', history[1]!.at, 60)], history)],
      [iso(NOW.getTime() + 7 * DAY), ledger(iso(NOW.getTime() + 7 * DAY), { name: 'Silver', level: 1 }, [expired(iso(NOW.getTime() + 4 * DAY), 10), expired(iso(NOW.getTime() - 40 * DAY), 5)], history)],
    ]),
    receivedAt: new Map([
      ['e1', iso(NOW.getTime() - 2 * DAY)],
      ['e2', iso(NOW.getTime() - DAY)],
    ]),
  };

  it('yields each change once, and nothing when re-run with the state it returned', () => {
    const first = signalsOf('c1', null, person(400), l, NOW, [7], DEFAULT_LIFECYCLE_RULES);
    expect(first.signals.map((s) => [s.kind, s.cause])).toEqual([
      ['customer.lapsed', `lapsed:c1:${iso(NOW.getTime() - 400 * DAY)}`],
      ['tier.changed', `tier:c1:${history[1]!.at}:Bronze>Silver`],
      ['points.earned', 'earned:e1'],
      ['points.earned', 'earned:e2'],
      ['points.expiring', `expiring:c1:${iso(NOW.getTime() + 4 * DAY)}:7`],
    ]);
    expect(first.next).toEqual({ tier: 'Silver', stage: 'lapsed', earnedThrough: iso(NOW.getTime() - DAY) });
    const again = signalsOf('c1', first.next, person(400), l, NOW, [7], DEFAULT_LIFECYCLE_RULES);
    // The expiry is announced again by cause (same key: the outbox refuses it); the others not at all.
    expect(again.signals.map((s) => s.kind)).toEqual(['points.earned', 'points.expiring']);
    expect(again.signals.map((s) => s.cause)).toEqual(['earned:e2', first.signals[4]!.cause]);
  });

  it('does not notify the base tier at first sight, nor an active customer as lapsed', () => {
    const base: PersonLedgers = { ...l, at: new Map([[NOW.toISOString(), ledger(NOW.toISOString(), { name: 'Bronze', level: 0 }, [], history.slice(0, 1))]]) };
    expect(signalsOf('c1', null, person(3), base, NOW, [], DEFAULT_LIFECYCLE_RULES).signals).toEqual([]);
  });

  it('derives the webhook id from endpoint and cause only', () => {
    expect(signalDeliveryId('wh_a', 'earned:e1')).toBe(signalDeliveryId('wh_a', 'earned:e1'));
    expect(signalDeliveryId('wh_a', 'earned:e1')).not.toBe(signalDeliveryId('wh_b', 'earned:e1'));
    expect(signalDeliveryId('wh_a', 'earned:e1')).toMatch(/^msg_[0-9a-f]{32}$/);
  });
});
