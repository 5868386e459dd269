/**
 * Accepted means projectable: arbitrary raw events (valid-looking and hostile) go through the real
 * ingest validation (parseEvent); every accepted one is turned into a stored event exactly as
 * ingest does (toStoredEvent, streamFor, JSON through the log) and applied to every registered
 * projection on SQLite and PostgreSQL. No projection may throw, and every money figure a profile
 * computes stays a safe integer.
 */
import fc from 'fast-check';
import { randomUUID } from 'crypto';
import { streamFor, toStoredEvent, type RecordedCairnEvent } from '@cairn/domain';
import type { ReadStore } from '@cairn/read-models';
import { validateEvent } from '@cairn/sdk';
import { parseEvent } from '../apps/api/src/ingest/record-events/record-events.request.dto';
import { NOW, rawEvent } from './support/hostile-events';
import { applyToEveryProjection } from './support/projections';
import { dropAndClose, readStoreDialects } from './support/read-stores';

/** What ingest would append for a batch of raw events (duplicates of earlier ids dropped, as ingest answers `duplicate`). */
function ingest(raws: readonly unknown[], seen: Set<string>, next: { position: bigint }): RecordedCairnEvent[] {
  const out: RecordedCairnEvent[] = [];
  for (const raw of raws) {
    const parsed = parseEvent(raw, NOW);
    if (!parsed.ok) continue;
    const id = parsed.input.id?.toLowerCase() ?? randomUUID();
    if (seen.has(id)) continue;
    seen.add(id);
    const stored = toStoredEvent(parsed.input);
    next.position += 7n;
    out.push({
      id,
      type: stored.type,
      // The log keeps JSON: projections read back what JSON.parse makes of the data.
      data: JSON.parse(JSON.stringify(stored.data)) as never,
      metadata: { receivedAt: NOW.toISOString(), correlationId: 'prop' },
      streamId: streamFor(parsed.input),
      revision: 0n,
      position: next.position,
    });
  }
  return out;
}

describe('the ingest contract (no database)', () => {
  it('accepts enough of the generated events to exercise the projections', () => {
    const sample = fc.sample(rawEvent, { numRuns: 2000, seed: 12 });
    const accepted = sample.filter((raw) => parseEvent(raw, NOW).ok).length;
    expect(accepted).toBeGreaterThan(200);
    expect(accepted).toBeLessThan(1800);
    // The shop's own events (cairn.custom.v1) are among them, so every projection meets them below.
    expect(sample.filter((raw) => (raw as { type?: unknown })?.type === 'custom' && parseEvent(raw, NOW).ok).length).toBeGreaterThan(20);
  });

  it('parseEvent never throws, and whatever it accepts the SDK accepts and streamFor places by a string id', () => {
    fc.assert(
      fc.property(rawEvent, (raw) => {
        const parsed = parseEvent(raw, NOW);
        if (!parsed.ok) {
          expect(parsed.errors.length).toBeGreaterThan(0);
          return;
        }
        expect(() => validateEvent(parsed.input, NOW.getTime())).not.toThrow();
        expect(streamFor(parsed.input)).toMatch(/^(customer|visitor)-[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,127}$/);
      }),
      { numRuns: 3000 },
    );
  });
});

describe.each(readStoreDialects('t_ingest_prop'))('every accepted event is projectable (%s)', (dialect, open) => {
  let store: ReadStore;
  beforeAll(async () => {
    store = await open();
  });
  afterAll(async () => dropAndClose(store));

  it('no projection throws on any batch of accepted events; profile money stays exact', async () => {
    const numRuns = dialect === 'SQLite' ? 200 : 100;
    const seen = new Set<string>();
    const next = { position: 0n };
    let applied = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(rawEvent, { minLength: 1, maxLength: 25 }), async (raws) => {
        const events = ingest(raws, seen, next);
        applied += events.length;
        await applyToEveryProjection(store, events);
      }),
      { numRuns },
    );
    expect(applied).toBeGreaterThan(numRuns); // the property saw real batches, not just rejections

    const profiles = await store.db.selectFrom('profiles').select(['customer_id', 'gross_minor', 'refunded_minor', 'net_minor', 'aov_minor', 'doc']).execute();
    expect(profiles.length).toBeGreaterThan(0);
    for (const p of profiles) {
      for (const v of [p.gross_minor, p.refunded_minor, p.net_minor, p.aov_minor]) if (v !== null) expect(Number.isSafeInteger(Number(v))).toBe(true);
      const doc = JSON.parse(p.doc) as { otherCurrencies: Record<string, { grossMinor: number; refundedMinor: number; netMinor: number }> };
      for (const t of Object.values(doc.otherCurrencies)) for (const v of [t.grossMinor, t.refundedMinor, t.netMinor]) expect(Number.isSafeInteger(v)).toBe(true);
    }
  });
});
