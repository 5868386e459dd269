import { CairnError } from '../errors';
import { evolveProfile, type FoldableEvent, type Profile } from '../profile';
import { evaluateCondition, parseCondition, type Condition } from './condition';

let n = 0;
const ev = (type: FoldableEvent['type'], at: string, extra: Record<string, unknown> = {}): FoldableEvent => ({
  id: `e-${++n}`,
  type,
  data: { customerId: 'c', occurredAt: at, channel: 'web', ...extra } as never,
});
const buy = (orderId: string, at: string, total = 1000, category = 'bags') =>
  ev('cairn.purchase.v1', at, { orderId, currency: 'USD', items: [{ productId: 'p', category, quantity: 1, unitPriceMinor: total }], totalMinor: total });
const fold = (events: FoldableEvent[]): Profile => events.reduce<Profile | undefined>((p, e) => evolveProfile(p, 'c', e, { currency: 'USD' }), undefined)!;
const at = (d: string) => ({ asOf: new Date(`${d}T12:00:00Z`) });

function fieldsOf(json: unknown): { field: string; message: string }[] {
  try {
    parseCondition(json);
  } catch (e) {
    expect(e).toBeInstanceOf(CairnError);
    return (e as CairnError).details!.fields as { field: string; message: string }[];
  }
  throw new Error('expected a validation error');
}

describe('segment conditions', () => {
  const lapsedBuyer = parseCondition({ all: [{ count: { type: 'purchase', withinDays: 60 }, op: '=', value: 0 }, { field: 'orders', op: '>=', value: 1 }] });
  const shoeBrowser = parseCondition({ all: [{ count: { type: 'view', withinDays: 7, category: 'shoes' }, op: '>=', value: 1 }, { field: 'orders', op: '=', value: 0 }] });

  it('"no purchase in 60 days and orders ≥ 1" flips as time passes, without a new event', () => {
    const p = fold([buy('o1', '2026-03-01T00:00:00Z')]);
    expect(evaluateCondition(lapsedBuyer, p, at('2026-04-29'))).toBe(false);
    expect(evaluateCondition(lapsedBuyer, p, at('2026-05-01'))).toBe(true);
    expect(evaluateCondition(lapsedBuyer, fold([ev('cairn.view.v1', '2026-01-01T00:00:00Z', { productId: 'p' })]), at('2026-05-01'))).toBe(false);
  });

  it('"viewed category shoes in 7 days and never purchased"', () => {
    const viewer = fold([ev('cairn.view.v1', '2026-05-01T00:00:00Z', { productId: 'p', category: 'shoes' })]);
    expect(evaluateCondition(shoeBrowser, viewer, at('2026-05-03'))).toBe(true);
    expect(evaluateCondition(shoeBrowser, viewer, at('2026-05-09'))).toBe(false);
    const buyer = fold([ev('cairn.view.v1', '2026-05-01T00:00:00Z', { productId: 'p', category: 'shoes' }), buy('o', '2025-01-01T00:00:00Z')]);
    expect(evaluateCondition(shoeBrowser, buyer, at('2026-05-03'))).toBe(false);
  });

  it('supports every op, sums, any and not', () => {
    const p = fold([
      buy('o1', '2026-05-01T00:00:00Z', 4000, 'shoes'),
      buy('o2', '2026-05-02T00:00:00Z', 2000),
      ev('cairn.return.v1', '2026-05-03T00:00:00Z', { orderId: 'o1', items: [], refundMinor: 1500, currency: 'USD' }),
      ev('cairn.view.v1', '2026-05-03T00:00:00Z', { productId: 'p', category: 'hats' }),
    ]);
    const yes = (c: unknown) => expect(evaluateCondition(parseCondition(c), p, at('2026-05-10'))).toBe(true);
    const no = (c: unknown) => expect(evaluateCondition(parseCondition(c), p, at('2026-05-10'))).toBe(false);
    yes({ field: 'orders', op: '=', value: 2 });
    yes({ field: 'orders', op: '!=', value: 3 });
    yes({ field: 'grossMinor', op: '>', value: 5999 });
    yes({ field: 'netMinor', op: '<=', value: 4500 });
    no({ field: 'netMinor', op: '<', value: 4500 });
    yes({ field: 'channels', op: 'contains', value: 'web' });
    yes({ field: 'purchasedCategories', op: 'in', value: ['shoes', 'socks'] });
    yes({ field: 'lifecycleStage', op: 'in', value: ['new', 'active'] });
    yes({ field: 'daysSinceLastOrder', op: '>=', value: 8 });
    yes({ field: 'averageRating', op: '=', value: null });
    yes({ sum: { type: 'purchase', field: 'totalMinor', withinDays: 30 }, op: '=', value: 6000 });
    yes({ sum: { type: 'return', field: 'refundMinor', withinDays: 30 }, op: '>=', value: 1500 });
    yes({ count: { type: 'purchase', withinDays: 30, category: 'shoes' }, op: '=', value: 1 });
    yes({ any: [{ field: 'orders', op: '=', value: 0 }, { not: { field: 'views', op: '=', value: 0 } }] });
    no({ not: { all: [{ field: 'orders', op: '>=', value: 1 }] } });
  });

  it('rejects invalid definitions naming the offending path', () => {
    expect(fieldsOf({ all: [{ field: 'orders', op: '>=', value: 1 }, { field: 'ordrs', op: '>=', value: 1 }] })).toEqual([
      { field: 'condition.all[1].field', message: expect.stringContaining('must be one of') },
    ]);
    expect(fieldsOf({ any: [{ count: { type: 'purchase', withinDays: 0 }, op: '~', value: 'x' }] }).map((f) => f.field)).toEqual([
      'condition.any[0].count.withinDays',
      'condition.any[0].op',
      'condition.any[0].value',
    ]);
    expect(fieldsOf({ not: { sum: { type: 'purchase', field: 'refundMinor', withinDays: 5 }, op: '>', value: 1 } })[0]!.field).toBe('condition.not.sum.field');
    expect(fieldsOf({ all: [] })[0]!.field).toBe('condition.all');
    expect(fieldsOf({ field: 'channels', op: '>', value: 'web' })[0]!.field).toBe('condition.op');
    expect(fieldsOf({ field: 'orders', op: '=', value: 'one' })[0]!.field).toBe('condition.value');
    expect(fieldsOf('orders > 1')[0]!.field).toBe('condition');
    expect(fieldsOf({ field: 'orders', op: '=', value: 1, extra: true })[0]!.field).toBe('condition.extra');
    let deep: unknown = { field: 'orders', op: '=', value: 1 };
    for (let i = 0; i < 10; i++) deep = { not: deep };
    expect(fieldsOf(deep)[0]!.message).toContain('deep');
  });

  it('accepts the documented examples unchanged', () => {
    const examples: Condition[] = [lapsedBuyer, shoeBrowser];
    for (const e of examples) expect(parseCondition(JSON.parse(JSON.stringify(e)))).toEqual(e);
  });

  describe('consent leaves', () => {
    const consent = (when: string, purpose: string, status: 'granted' | 'withdrawn') => ev('cairn.consent.v1', when, { purpose, status });
    const p = fold([
      buy('o1', '2026-03-01T00:00:00Z'),
      consent('2026-03-01T00:00:00Z', 'email_marketing', 'granted'),
      consent('2026-05-01T12:00:00Z', 'email_marketing', 'withdrawn'),
      consent('2026-04-01T00:00:00Z', 'constructor', 'granted'),
    ]);

    it('is true while the purpose is granted as of the evaluation, false from the withdrawal on', () => {
      const mailable = parseCondition({ all: [{ field: 'orders', op: '>=', value: 1 }, { consent: 'email_marketing' }] });
      expect(evaluateCondition(mailable, p, at('2026-04-30'))).toBe(true);
      expect(evaluateCondition(mailable, p, { asOf: new Date('2026-05-01T11:59:59.999Z') })).toBe(true);
      expect(evaluateCondition(mailable, p, { asOf: new Date('2026-05-01T12:00:00.000Z') })).toBe(false);
      expect(evaluateCondition(mailable, p, at('2026-02-01'))).toBe(false); // before any grant
    });

    it('asks for withdrawn or never-given consent with status', () => {
      const c = (status?: string) => parseCondition({ consent: 'email_marketing', ...(status ? { status } : {}) });
      expect([c(), c('withdrawn'), c('unknown')].map((x) => evaluateCondition(x, p, at('2026-06-01')))).toEqual([false, true, false]);
      expect([c(), c('withdrawn'), c('unknown')].map((x) => evaluateCondition(x, p, at('2026-02-01')))).toEqual([false, false, true]);
      expect(evaluateCondition(parseCondition({ consent: 'analytics', status: 'unknown' }), p, at('2026-06-01'))).toBe(true);
      expect(evaluateCondition(parseCondition({ consent: 'constructor' }), p, at('2026-06-01'))).toBe(true);
      expect(evaluateCondition(parseCondition({ consent: 'toolong' }), fold([buy('o1', '2026-03-01T00:00:00Z')]), at('2026-06-01'))).toBe(false);
    });

    it('names the offending path and the rule', () => {
      expect(fieldsOf({ consent: 'Email' })).toEqual([{ field: 'condition.consent', message: expect.stringContaining('a–z, 0–9 and _') }]);
      expect(fieldsOf({ all: [{ consent: 'analytics', status: 'maybe' }] })).toEqual([{ field: 'condition.all[0].status', message: 'must be one of granted, withdrawn, unknown (default granted)' }]);
      expect(fieldsOf({ consent: 'analytics', op: '=' })).toEqual([{ field: 'condition.op', message: expect.stringContaining('unknown key') }]);
      expect(fieldsOf({ count: { type: 'consent', withinDays: 30 }, op: '>=', value: 1 })).toEqual([{ field: 'condition.count.type', message: expect.stringContaining('{ "consent": purpose }') }]);
    });
  });
});
