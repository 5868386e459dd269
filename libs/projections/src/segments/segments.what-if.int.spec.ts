/**
 * The segments what-if area over a read model of profiles: entries and exits equal evaluating the
 * definitions directly (the domain's evaluateCondition over every profile), live definitions read
 * from the live store (SQLite and PostgreSQL), bad rules named by JSON path.
 */
import fc from 'fast-check';
import { evaluateCondition, type Condition, type EvaluationContext, type LifecycleRules } from '@cairn/domain';
import type { ReadStore } from '@cairn/read-models';
import { defineSegmentRow } from '../identity/identity.test-support';
import { allProfiles, contextAt, population, profilesOf } from '../ops/what-if-areas.test-support';
import { compareSegments, parseSegmentsWhatIf, segmentsWhatIfArea, type SegmentsWhatIfSummary } from './segments.what-if';
import { dropAndClose, readStoreDialects } from '../../../../test/support/read-stores';

const AT = '2026-06-30T23:59:59.000Z';
const repeat: Condition = { field: 'orders', op: '>=', value: 3 };
const recent: Condition = { all: [{ count: { type: 'purchase', withinDays: 90 }, op: '>=', value: 1 }, { field: 'orders', op: '>=', value: 2 }] };

describe('segments what-if', () => {
  let scratch: ReadStore;
  beforeAll(async () => {
    scratch = await profilesOf(population(120));
  });
  afterAll(() => scratch.close());

  /** The direct computation: who meets `c` as of the instant, over every profile. */
  const direct = async (c: Condition | null, ctx: EvaluationContext = { asOf: new Date(AT) }) =>
    c === null ? [] : (await allProfiles(scratch.db)).filter((p) => evaluateCondition(c, p, ctx)).map((p) => p.customerId);
  const minus = (a: string[], b: string[]) => a.filter((x) => !b.includes(x));

  describe.each(readStoreDialects('t_wis'))('live definitions on %s', (_name, open) => {
    let live: ReadStore;
    beforeAll(async () => {
      live = await open();
      await defineSegmentRow(live, 'repeat', repeat);
      await defineSegmentRow(live, 'recent', recent);
      await defineSegmentRow(live, 'gone', { field: 'orders', op: '>=', value: 1 });
      await live.db.updateTable('segments').set({ deleted: 1 }).where('segment_id', '=', 'gone').execute();
    });
    afterAll(() => dropAndClose(live));

    it('lists entries and exits equal to evaluating the live and the what-if definitions directly', async () => {
      const area = segmentsWhatIfArea();
      const rules = area.parse([
        { id: 'repeat', name: 'Repeat buyers', condition: { field: 'orders', op: '>=', value: 2 } },
        { name: 'Big spenders', condition: { sum: { type: 'purchase', field: 'totalMinor', withinDays: 180 }, op: '>=', value: 40_000 } },
        { id: 'recent', name: 'recent', condition: { all: [{ count: { type: 'purchase', withinDays: 30 }, op: '>=', value: 1 }, { field: 'orders', op: '>=', value: 2 }] } },
      ]);
      const out = await area.compare(scratch.db, rules, contextAt(AT, { live: live.db }));
      const summary = out.summary as SegmentsWhatIfSummary;
      expect(summary).toMatchObject({ at: AT, liveSegments: 2, profiles: 120, lifecycle: { newDays: 30, activeDays: 90, lapsedDays: 180 } });
      const baselines = [repeat, null, recent];
      for (const [i, s] of summary.segments.entries()) {
        const before = await direct(baselines[i]!);
        const after = await direct(rules[i]!.condition);
        const entered = minus(after, before);
        const exited = minus(before, after);
        expect(s).toEqual({
          ref: rules[i]!.id ?? `new-${i}`,
          id: rules[i]!.id,
          name: rules[i]!.name,
          liveName: rules[i]!.id,
          sizeBefore: before.length,
          sizeAfter: after.length,
          entries: entered.length,
          exits: exited.length,
          entered: entered.slice(0, 20),
          exited: exited.slice(0, 20),
          file: `what-if/segments/${s.ref}.json`,
        });
        expect(out.files![s.ref]).toEqual({ id: s.id, name: s.name, liveName: s.liveName, at: AT, sizeBefore: before.length, sizeAfter: after.length, entered, exited });
      }
      // Widening gives entries only, narrowing exits only, a new segment entries from nobody.
      expect(summary.segments.map((s) => [s.entries > 0, s.exits > 0])).toEqual([
        [true, false],
        [true, false],
        [false, true],
      ]);
    });

    it('refuses an id that names no live segment (a deleted one included), naming the rule', async () => {
      const rules = parseSegmentsWhatIf([{ id: 'gone', name: 'x', condition: repeat }, { name: 'y', condition: repeat }, { id: 'nope', name: 'z', condition: repeat }]);
      await expect(compareSegments(scratch.db, rules, contextAt(AT, { live: live.db }))).rejects.toMatchObject({
        code: 'CAIRN.VALIDATION',
        details: { fields: [{ field: 'rules.segments[0].id' }, { field: 'rules.segments[2].id', message: expect.stringContaining("no live segment 'nope'") }] },
      });
    });
  });

  it('without a live store: every definition is new; an id cannot be resolved', async () => {
    const out = await compareSegments(scratch.db, parseSegmentsWhatIf([{ name: 'repeat', condition: repeat }]), contextAt(AT));
    const s = (out.summary as SegmentsWhatIfSummary).segments[0]!;
    expect(s).toMatchObject({ ref: 'new-0', sizeBefore: 0, sizeAfter: (await direct(repeat)).length, exits: 0 });
    await expect(compareSegments(scratch.db, parseSegmentsWhatIf([{ id: 'repeat', name: 'r', condition: repeat }]), contextAt(AT))).rejects.toMatchObject({
      details: { fields: [{ field: 'rules.segments[0].id', message: expect.stringContaining('without the live read store') }] },
    });
  });

  it('evaluates lifecycle conditions under the configured thresholds', async () => {
    const lifecycle: LifecycleRules = { newDays: 30, activeDays: 45, lapsedDays: 120 };
    const atRisk: Condition = { field: 'lifecycleStage', op: '=', value: 'at_risk' };
    const out = await segmentsWhatIfArea({ lifecycle }).compare(scratch.db, parseSegmentsWhatIf([{ name: 'at risk', condition: atRisk }]), contextAt(AT));
    const s = (out.summary as SegmentsWhatIfSummary).segments[0]!;
    expect(out.files!['new-0']).toMatchObject({ entered: await direct(atRisk, { asOf: new Date(AT), lifecycle }) });
    expect(s.sizeAfter).not.toBe((await direct(atRisk)).length);
  });

  it('property: for any thresholds, entries and exits are the direct differences', async () => {
    const ops = fc.constantFrom('>=', '<=', '=', '>', '<');
    const cond = fc.oneof(
      fc.record({ field: fc.constant('orders'), op: ops, value: fc.integer({ min: 0, max: 6 }) }),
      fc.record({ count: fc.record({ type: fc.constant('purchase'), withinDays: fc.integer({ min: 1, max: 365 }) }), op: ops, value: fc.integer({ min: 0, max: 4 }) }),
      fc.record({ field: fc.constant('daysSinceLastSeen'), op: ops, value: fc.integer({ min: 0, max: 400 }) }),
    ) as fc.Arbitrary<Condition>;
    const profiles = await allProfiles(scratch.db);
    await fc.assert(
      fc.asyncProperty(cond, cond, async (a, b) => {
        const live = await profilesOf([]);
        try {
          await defineSegmentRow(live, 's', a);
          const out = await compareSegments(scratch.db, parseSegmentsWhatIf([{ id: 's', name: 's', condition: b }]), contextAt(AT, { live: live.db }));
          const ctx = { asOf: new Date(AT) };
          const before = profiles.filter((p) => evaluateCondition(a, p, ctx)).map((p) => p.customerId);
          const after = profiles.filter((p) => evaluateCondition(b, p, ctx)).map((p) => p.customerId);
          expect(out.files!.s).toMatchObject({ sizeBefore: before.length, sizeAfter: after.length, entered: minus(after, before), exited: minus(before, after) });
        } finally {
          await live.close();
        }
      }),
      { numRuns: 40 },
    );
  });

  it('refuses bad rules naming each JSON path under rules.segments', () => {
    const fields = (rules: unknown) => {
      try {
        parseSegmentsWhatIf(rules);
      } catch (err) {
        expect(err).toMatchObject({ code: 'CAIRN.VALIDATION' });
        return (err as { details: { fields: { field: string }[] } }).details.fields.map((f) => f.field);
      }
      throw new Error('accepted');
    };
    expect(fields({ name: 'x' })).toEqual(['rules.segments']);
    expect(fields([])).toEqual(['rules.segments']);
    expect(
      fields([
        { id: 'a', name: 'ok', condition: repeat },
        { name: '', condition: { all: [{ field: 'orders', op: '~', value: 1 }, { count: { type: 'purchase', withinDays: 0 }, op: '>=', value: 1 }] } },
        { id: 'a', name: 'dup', condition: repeat, colour: 'red' },
        'not an object',
        { id: '../etc', name: 'x', condition: { field: 'nope', op: '=', value: 1 } },
      ]),
    ).toEqual([
      'rules.segments[1].name',
      'rules.segments[1].condition.all[0].op',
      'rules.segments[1].condition.all[1].count.withinDays',
      'rules.segments[2].id',
      'rules.segments[2].colour',
      'rules.segments[3]',
      'rules.segments[4].id',
      'rules.segments[4].condition.field',
    ]);
  });
});
