/**
 * Property: with random concurrent appenders and subscribers started at random moments, $all is one total
 * order consistent with every stream's revisions (no gaps), and every subscriber sees exactly the readAll
 * sequence (filtered, after its start position) — no gap, no duplicate across catch-up/live.
 */
import fc from 'fast-check';
import { START, streamNameFilter, type Position } from '@eventstore/db-client';
import { collect, ev, record, startHarness, waitFor, userEvents } from './test-support.spec';

describe('ordering under concurrency (property, through @eventstore/db-client)', () => {
  it('keeps $all a total order and every subscriber gap- and duplicate-free', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ writer: fc.nat(3), stream: fc.nat(4), size: fc.integer({ min: 1, max: 4 }) }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.record({ startAfter: fc.nat(40), fromPosition: fc.boolean(), filtered: fc.boolean() }), { maxLength: 3 }),
        async (ops, subs) => {
          const h = await startHarness();
          try {
            let done = 0;
            const started: Array<{ r: ReturnType<typeof record>; from: bigint; filtered: boolean }> = [];
            const startSub = async (s: (typeof subs)[number]) => {
              let from: Position | typeof START = START;
              if (s.fromPosition) {
                const last = await collect(h.client.readAll({ direction: 'backwards', fromPosition: 'end', maxCount: 1 }));
                if (last.length > 0) from = last[0].event!.position!;
              }
              const sub = h.client.subscribeToAll({ fromPosition: from, ...(s.filtered ? { filter: streamNameFilter({ prefixes: ['p-1', 'p-3'] }) } : {}) });
              started.push({ r: record(sub), from: from === START ? 0n : from.commit, filtered: s.filtered });
            };
            const pendingSubs = [...subs].sort((a, b) => a.startAfter - b.startAfter);
            const startDue = async () => {
              while (pendingSubs.length > 0 && pendingSubs[0].startAfter <= done) await startSub(pendingSubs.shift()!);
            };
            await startDue();
            const byWriter = new Map<number, typeof ops>();
            for (const op of ops) byWriter.set(op.writer, [...(byWriter.get(op.writer) ?? []), op]);
            await Promise.all(
              [...byWriter.values()].map(async (list) => {
                for (const op of list) {
                  await h.client.appendToStream(`p-${op.stream}`, Array.from({ length: op.size }, (_, i) => ev('P', { i })));
                  done++;
                  await startDue();
                }
              }),
            );
            for (const s of pendingSubs) await startSub(s);

            const all = userEvents(await collect(h.client.readAll()));
            expect(all).toHaveLength(ops.reduce((n, o) => n + o.size, 0));
            const positions = all.map((e) => e.event!.position!.commit);
            for (let i = 1; i < positions.length; i++) expect(positions[i]).toBeGreaterThan(positions[i - 1]);
            const nextRev = new Map<string, bigint>();
            for (const e of all) {
              const want = nextRev.get(e.event!.streamId) ?? 0n;
              expect(e.event!.revision).toBe(want);
              nextRev.set(e.event!.streamId, want + 1n);
            }
            for (const { r, from, filtered } of started) {
              const expected = all
                .filter((e) => e.event!.position!.commit > from)
                .filter((e) => !filtered || e.event!.streamId === 'p-1' || e.event!.streamId === 'p-3')
                .map((e) => e.event!.position!.commit);
              await waitFor(() => userEvents(r.events).length >= expected.length, 5000);
              await new Promise((res) => setTimeout(res, 10));
              expect(userEvents(r.events).map((e) => e.event!.position!.commit)).toEqual(expected);
            }
          } finally {
            await h.close();
          }
        },
      ),
      { numRuns: 25 },
    );
  }, 60_000);
});
