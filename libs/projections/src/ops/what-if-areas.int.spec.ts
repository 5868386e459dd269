/**
 * Replays with the segments, rfm and lifecycle what-if areas on the real embedded node: the
 * answers land in summary.whatIf.areas and what-if/<area>/<name>.json, and they are the ones
 * docs/operations.md ("What-if: segments, RFM and lifecycle") shows: the spec replays the rules
 * the page shows and compares every output block of the page with what it got.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { startEmbeddedNode, type EmbeddedNode } from '@cairn/esdb-embedded';
import { CairnEventStore } from '@cairn/event-store';
import { openReadStore, type ReadStore } from '@cairn/read-models';
import type { Projection } from '../projection';
import { profileProjection } from '../profile.projection';
import { lifecycleWhatIfArea } from '../lifecycle/lifecycle.what-if';
import { rfmWhatIfArea } from '../rfm/rfm.what-if';
import { segmentsWhatIfArea } from '../segments/segments.what-if';
import { runReplay } from './replay';
import { purchase, toAppend, view } from './what-if-areas.test-support';

type Rules = { currency: string };
const projectionsFor = (rules: Rules): Projection[] => [profileProjection(rules)];
const areas = [segmentsWhatIfArea(), rfmWhatIfArea(), lifecycleWhatIfArea()];

/** The JSON block that follows `<!-- what-if-example:<name> -->` in docs/operations.md. */
function docBlock(name: string): unknown {
  const doc = readFileSync(join(__dirname, '../../../../docs/operations.md'), 'utf8');
  const m = new RegExp(`<!-- what-if-example:${name} -->\\s*\`\`\`json\\n([\\s\\S]*?)\\n\`\`\``).exec(doc);
  if (!m) throw new Error(`docs/operations.md has no what-if-example:${name} block`);
  return JSON.parse(m[1]!);
}

/** The example's shop: seven customers, a live segment "Repeat buyers" (3 orders or more). */
const EXAMPLE_SEGMENT_ID = '3f9c2a1e-5b7d-4e8a-9c6f-1a2b3c4d5e6f';
const EXAMPLE = [
  purchase('ann', '2026-01-15T10:00:00Z', 5000),
  purchase('ann', '2026-04-10T10:00:00Z', 8000),
  purchase('ann', '2026-06-20T10:00:00Z', 12000),
  purchase('bob', '2026-05-02T10:00:00Z', 3000),
  purchase('bob', '2026-06-25T10:00:00Z', 4000),
  purchase('cho', '2025-09-01T10:00:00Z', 15000),
  purchase('cho', '2026-02-10T10:00:00Z', 9000),
  purchase('dev', '2026-06-28T10:00:00Z', 25000),
  purchase('eli', '2025-08-15T10:00:00Z', 6000),
  view('fay', '2026-06-01T10:00:00Z'),
  purchase('gus', '2026-04-20T10:00:00Z', 7000),
  purchase('gus', '2026-04-25T10:00:00Z', 2000),
  // After the instant: left out.
  purchase('bob', '2026-07-03T10:00:00Z', 9000),
];

describe('replays with the segments, rfm and lifecycle what-if areas', () => {
  let node: EmbeddedNode;
  let events: CairnEventStore;
  let live: ReadStore;

  beforeAll(async () => {
    node = await startEmbeddedNode({ port: 0 });
    events = CairnEventStore.connect(node.connectionString);
    await events.append(EXAMPLE.map(toAppend));
    live = await openReadStore(':memory:');
    await live.db
      .insertInto('segments')
      .values({ segment_id: EXAMPLE_SEGMENT_ID, name: 'Repeat buyers', version: 1, condition: JSON.stringify({ field: 'orders', op: '>=', value: 3 }), created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z', deleted: 0, needs_sweep: 0 })
      .execute();
  });
  afterAll(async () => {
    await live?.close();
    await events?.close();
    await node?.close();
  });

  const replay = (rules: Record<string, unknown>, projections = ['profiles']) =>
    runReplay(events, projectionsFor, { currency: 'USD' }, { projections, asOf: '2026-06-30T23:59:59Z', rules }, undefined, { areas, live: live.db });

  it('answers the example of docs/operations.md, in summary.json and in files', async () => {
    const rules = docBlock('rules') as { segments: Record<string, unknown>[] };
    const r = await replay(rules as Record<string, unknown>);
    const got = r.summary.whatIf!.areas as Record<string, unknown>;
    expect(Object.keys(got)).toEqual(['segments', 'rfm', 'lifecycle']);
    // Only the one read model: the areas' rules need no second one.
    expect(r.summary.whatIf!.tables).toEqual({});
    // The rules as parsed: a new segment has id null.
    expect(r.summary.rules).toEqual({ live: { currency: 'USD' }, whatIf: { currency: 'USD' }, areas: { ...rules, segments: rules.segments.map((s) => ({ id: null, ...s })) } });
    const file = (path: string) => JSON.parse(r.files.get(path)!);
    expect([...r.files.keys()].filter((k) => k.startsWith('what-if/')).sort()).toEqual([
      'what-if/lifecycle/changes.json',
      'what-if/rfm/changes.json',
      `what-if/segments/${EXAMPLE_SEGMENT_ID}.json`,
      'what-if/segments/new-1.json',
    ]);
    // Spelled out here as well as in the page, so a change to either is noticed.
    expect(got.segments).toMatchObject({
      segments: [
        { id: EXAMPLE_SEGMENT_ID, sizeBefore: 1, sizeAfter: 4, entered: ['bob', 'cho', 'gus'], exited: [] },
        { id: null, sizeBefore: 0, sizeAfter: 2, entered: ['ann', 'dev'], exited: [] },
      ],
    });
    expect(file('what-if/lifecycle/changes.json')).toEqual([{ customerId: 'gus', from: 'active', to: 'at_risk' }]);
    expect(got.segments).toEqual(docBlock('segments'));
    expect(got.rfm).toEqual(docBlock('rfm'));
    expect(got.lifecycle).toEqual(docBlock('lifecycle'));
    expect(file(`what-if/segments/${EXAMPLE_SEGMENT_ID}.json`)).toEqual(docBlock('segments-file'));
    expect(file('what-if/rfm/changes.json')).toEqual(docBlock('rfm-file'));
  });

  it('is deterministic: the same rules give byte-identical area files', async () => {
    const rules = docBlock('rules') as Record<string, unknown>;
    const [one, two] = [await replay(rules), await replay(rules)];
    for (const [k, v] of one.files) expect(two.files.get(k)).toBe(v);
  });

  it('refuses, before reading the log, bad area rules and areas whose projection is not replayed', async () => {
    await expect(replay({ segments: [{ name: 'x', condition: { field: 'orders', op: '>>', value: 1 } }], lifecycle: { activeDays: 500 }, rfm: { windowDays: -1 } })).rejects.toMatchObject({
      code: 'CAIRN.VALIDATION',
      details: { fields: [{ field: 'rules.segments[0].condition.op' }, { field: 'rules.lifecycle.activeDays' }, { field: 'rules.rfm.windowDays' }] },
    });
    const noProfiles = (rules: Record<string, unknown>) =>
      runReplay(events, (rules: Rules) => [profileProjection(rules), { ...profileProjection(rules), name: 'other' }], { currency: 'USD' }, { projections: ['other'], rules }, undefined, { areas, live: live.db });
    await expect(noProfiles({ rfm: { windowDays: 90 } })).rejects.toMatchObject({ details: { fields: [{ field: 'rules.rfm', message: expect.stringContaining('needs the profiles projection') }] } });
  });

  it('as of another instant, the answers follow it (a new segment over the profiles of that day)', async () => {
    const r = await runReplay(events, projectionsFor, { currency: 'USD' }, { projections: ['profiles'], asOf: '2026-03-01T00:00:00Z', rules: { segments: [{ name: 'buyers', condition: { field: 'orders', op: '>=', value: 1 } }] } }, undefined, { areas, live: null });
    expect(r.summary.whatIf!.areas.segments).toMatchObject({ at: '2026-03-01T00:00:00.000Z', liveSegments: 0, profiles: 3, segments: [{ entered: ['ann', 'cho', 'eli'], sizeAfter: 3 }] });
  });
});
