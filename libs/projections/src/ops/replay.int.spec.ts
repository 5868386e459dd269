/**
 * Replays on the real embedded node into scratch SQLite stores: bi-temporal filters (business time
 * and recorded time), what-if rules with a diff against the baseline, byte-identical output.
 */
import { startEmbeddedNode, type EmbeddedNode } from '@cairn/esdb-embedded';
import { CairnEventStore } from '@cairn/event-store';
import { profileProjection } from '../profile.projection';
import type { Projection } from '../projection';
import { sql } from 'kysely';
import { runReplay, type ReplayAware } from './replay';
import { countingProjection, purchaseEvent, viewEvent } from './test-support';

type Rules = { currency: string };
const projectionsFor = (rules: Rules): Projection[] => [profileProjection(rules), countingProjection()];

describe('replays', () => {
  let node: EmbeddedNode;
  let events: CairnEventStore;

  beforeAll(async () => {
    node = await startEmbeddedNode({ port: 0 });
    events = CairnEventStore.connect(node.connectionString);
    await events.append([
      purchaseEvent('a', '2026-06-10T10:00:00+02:00', '2026-06-10T08:00:05Z', 1000),
      viewEvent('b', '2026-06-01T09:00:00Z', '2026-06-01T09:00:01Z'),
    ]);
    // Late: happened in June, recorded in July.
    await events.append([purchaseEvent('a', '2026-06-20T10:00:00Z', '2026-07-05T10:00:00Z', 2000)]);
    await events.append([purchaseEvent('a', '2026-07-10T10:00:00Z', '2026-07-10T10:00:01Z', 500), viewEvent('c', '2026-07-11T10:00:00Z', '2026-07-11T10:00:00Z')]);
  });
  afterAll(async () => {
    await events?.close();
    await node?.close();
  });

  const profiles = (files: ReadonlyMap<string, string>, path = 'profiles.json') =>
    Object.fromEntries((JSON.parse(files.get(path)!) as { customer_id: string; gross_minor: number; orders: number }[]).map((r) => [r.customer_id, r]));

  it('limits by business time (as-of) and by recorded time (known-at)', async () => {
    const asOf = await runReplay(events, projectionsFor, { currency: 'USD' }, { projections: ['profiles'], asOf: '2026-06-30T23:59:59Z' });
    expect(Object.keys(profiles(asOf.files))).toEqual(['a', 'b']);
    expect(profiles(asOf.files).a).toMatchObject({ orders: 2, gross_minor: 3000 });
    expect(asOf.summary.events).toEqual({ read: 5, included: 3, afterAsOf: 2, unknownAtKnownAt: 0 });

    const known = await runReplay(events, projectionsFor, { currency: 'USD' }, { projections: ['profiles'], asOf: '2026-06-30T23:59:59Z', knownAt: '2026-06-30T23:59:59Z' });
    expect(profiles(known.files).a).toMatchObject({ orders: 1, gross_minor: 1000 });
    expect(known.summary.events).toEqual({ read: 5, included: 2, afterAsOf: 0, unknownAtKnownAt: 3 });

    const all = await runReplay(events, projectionsFor, { currency: 'USD' }, { projections: [] });
    expect(profiles(all.files).a).toMatchObject({ orders: 3, gross_minor: 3500 });
    expect([...all.files.keys()]).toEqual(expect.arrayContaining(['ops_test_counts.csv', 'ops_test_counts.json', 'profiles.csv', 'profiles.json', 'summary.json']));
    expect(all.files.get('ops_test_counts.csv')).toBe('customer_id,events\na,3\nb,1\nc,1\n');
    expect(all.summary.projections).toEqual([{ name: 'profiles', version: 3 }, { name: 'test-counts', version: 1 }]);
  });

  it('what-if: rebuilds under merged rules and diffs every read model by primary key', async () => {
    const r = await runReplay(events, projectionsFor, { currency: 'USD' }, { projections: ['profiles', 'test-counts'], asOf: '2026-06-30T23:59:59Z', rules: { currency: 'EUR' } });
    expect(profiles(r.files, 'baseline/profiles.json').a.gross_minor).toBe(3000);
    expect(profiles(r.files, 'what-if/profiles.json').a.gross_minor).toBe(0);
    expect(r.summary.rules).toEqual({ live: { currency: 'USD' }, whatIf: { currency: 'EUR' } });
    // toMatchObject: the profile projection may write more tables of its own (identity).
    expect(r.summary.whatIf!.tables).toMatchObject({
      profiles: { added: 0, removed: 0, changed: 2, unchanged: 0 },
      ops_test_counts: { added: 0, removed: 0, changed: 0, unchanged: 2 },
    });
    const diff = JSON.parse(r.files.get('diff/profiles.json')!);
    expect(diff.changedRows[0].key).toBe('a');
    expect(diff.changedRows[0].columns.gross_minor).toEqual({ baseline: 3000, whatIf: 0 });
  });

  it('is deterministic: the same request gives byte-identical files', async () => {
    const req = { projections: [], asOf: '2026-07-31T00:00:00Z', knownAt: '2026-07-10T12:00:00Z', rules: { currency: 'EUR' } };
    const one = await runReplay(events, projectionsFor, { currency: 'USD' }, req);
    await new Promise((r) => setTimeout(r, 20));
    const two = await runReplay(events, projectionsFor, { currency: 'USD' }, req);
    expect([...one.files.keys()]).toEqual([...two.files.keys()]);
    for (const [k, v] of one.files) expect(two.files.get(k)).toBe(v);
  });

  it("adds an area's own summary and what-if diff when its projection exposes the hooks", async () => {
    type Hooked = Projection & ReplayAware;
    const withHooks = (rules: Rules): Projection[] => {
      const counts: Hooked = {
        ...countingProjection(),
        replaySummary: async (db, ctx) => ({
          customers: Number((await sql<{ n: number }>`select count(*) as n from ops_test_counts`.execute(db)).rows[0].n),
          asOf: ctx.asOf,
          currency: (ctx.rules as Rules).currency,
        }),
        replayDiff: async (_b, _w, ctx) => ({ from: (ctx.rules as Rules).currency, to: (ctx.whatIfRules as Rules).currency }),
      };
      return [profileProjection(rules), counts];
    };
    const r = await runReplay(events, withHooks, { currency: 'USD' }, { projections: ['test-counts'], asOf: '2026-06-30T23:59:59Z', rules: { currency: 'EUR' } });
    expect(r.summary.areas).toEqual({ 'test-counts': { customers: 2, asOf: '2026-06-30T23:59:59.000Z', currency: 'USD' } });
    expect(r.summary.whatIf!.areas).toEqual({ 'test-counts': { from: 'USD', to: 'EUR' } });
  });

  it('refuses unknown projections and malformed instants with the field', async () => {
    await expect(runReplay(events, projectionsFor, { currency: 'USD' }, { projections: ['nope'] })).rejects.toMatchObject({ code: 'CAIRN.VALIDATION', details: { fields: [{ field: 'projections' }] } });
    await expect(runReplay(events, projectionsFor, { currency: 'USD' }, { projections: [], asOf: 'yesterday' })).rejects.toMatchObject({ code: 'CAIRN.VALIDATION', details: { fields: [{ field: 'asOf' }] } });
  });
});
