/**
 * The lifecycle what-if area over a read model of profiles: the customers who change stage are
 * exactly those the domain's lifecycleStage puts in another stage under the merged thresholds;
 * thresholds validated as configuration is, named by JSON path.
 */
import { DEFAULT_LIFECYCLE_RULES, lifecycleStage, type LifecycleRules } from '@cairn/domain';
import type { ReadStore } from '@cairn/read-models';
import { allProfiles, contextAt, population, profilesOf } from '../ops/what-if-areas.test-support';
import { lifecycleWhatIfArea, parseLifecycleWhatIf, type LifecycleWhatIfSummary } from './lifecycle.what-if';

const AT = '2026-06-30T23:59:59.000Z';

describe('lifecycle what-if', () => {
  let scratch: ReadStore;
  beforeAll(async () => {
    scratch = await profilesOf(population(150, 3));
  });
  afterAll(() => scratch.close());

  const direct = async (live: LifecycleRules, whatIf: LifecycleRules) => {
    const asOf = new Date(AT);
    return (await allProfiles(scratch.db))
      .map((p) => ({ customerId: p.customerId, from: lifecycleStage(p, asOf, live), to: lifecycleStage(p, asOf, whatIf) }))
      .filter((m) => m.from !== m.to);
  };

  it.each([
    ['defaults', undefined, { activeDays: 60 }],
    ['configured thresholds', { newDays: 14, activeDays: 60, lapsedDays: 120 }, { newDays: 45, lapsedDays: 240 }],
  ])('lists the customers who change stage, as lifecycleStage says (%s)', async (_name, configured, rules) => {
    const area = lifecycleWhatIfArea({ lifecycle: configured });
    const out = await area.compare(scratch.db, area.parse(rules), contextAt(AT));
    const s = out.summary as LifecycleWhatIfSummary;
    const live = configured ?? DEFAULT_LIFECYCLE_RULES;
    const moves = await direct(live, { ...live, ...rules });
    expect(moves.length).toBeGreaterThan(5);
    expect(s).toMatchObject({ at: AT, live, whatIf: { ...live, ...rules }, customers: 150, changed: moves.length, changes: moves.slice(0, 20), file: 'what-if/lifecycle/changes.json' });
    expect(out.files).toEqual({ changes: moves });
    for (const t of s.transitions) expect(t.customers).toBe(moves.filter((m) => m.from === t.from && m.to === t.to).length);
    expect(s.transitions.reduce((n, t) => n + t.customers, 0)).toBe(moves.length);
    expect(s.stages.reduce((n, x) => n + x.before, 0)).toBe(150);
    expect(s.stages.reduce((n, x) => n + x.after, 0)).toBe(150);
  });

  it('reads the live thresholds from the live rules when the area was built without them', async () => {
    const area = lifecycleWhatIfArea();
    const out = await area.compare(scratch.db, { activeDays: 30 }, contextAt(AT, { rules: { currency: 'USD', lifecycle: { newDays: 10, activeDays: 20, lapsedDays: 40 } } }));
    expect(out.summary).toMatchObject({ live: { newDays: 10, activeDays: 20, lapsedDays: 40 }, whatIf: { newDays: 10, activeDays: 30, lapsedDays: 40 } });
    // … and still refuses an order the merge breaks.
    await expect(area.compare(scratch.db, { activeDays: 60 }, contextAt(AT, { rules: { lifecycle: { newDays: 10, activeDays: 20, lapsedDays: 40 } } }))).rejects.toMatchObject({
      details: { fields: [{ field: 'rules.lifecycle.activeDays' }] },
    });
  });

  it('refuses bad thresholds naming each JSON path under rules.lifecycle', () => {
    const fields = (rules: unknown, live?: LifecycleRules) => {
      try {
        parseLifecycleWhatIf(rules, live);
      } catch (err) {
        expect(err).toMatchObject({ code: 'CAIRN.VALIDATION' });
        return (err as { details: { fields: { field: string; message: string }[] } }).details.fields.map((x) => x.field);
      }
      throw new Error('accepted');
    };
    expect(fields(7)).toEqual(['rules.lifecycle']);
    expect(fields({})).toEqual(['rules.lifecycle']);
    expect(fields({ newDays: 0, activeDays: 'ninety', lapsedDays: 4000, churnDays: 1 })).toEqual(['rules.lifecycle.newDays', 'rules.lifecycle.activeDays', 'rules.lifecycle.lapsedDays', 'rules.lifecycle.churnDays']);
    // Ordering, on the thresholds merged over the live ones (180 by default).
    expect(fields({ activeDays: 200 })).toEqual(['rules.lifecycle.activeDays']);
    expect(fields({ activeDays: 60, lapsedDays: 60 })).toEqual(['rules.lifecycle.lapsedDays']);
    expect(fields({ lapsedDays: 50 }, { newDays: 30, activeDays: 60, lapsedDays: 90 })).toEqual(['rules.lifecycle.lapsedDays']);
    expect(parseLifecycleWhatIf({ lapsedDays: 365, newDays: 14 })).toEqual({ newDays: 14, lapsedDays: 365 });
  });
});
