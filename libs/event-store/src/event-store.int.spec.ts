/**
 * The head and the lag projectors measure against count only the events projections fold. The
 * client's `readAll` sends no server-side filter, and `$all` also holds system events (a fresh node
 * writes some), Cairn's definitions (segments, programs) and any other application's events: none
 * of them is folded, so no checkpoint ever passes them. Counted, a projector that is caught up
 * would report lag forever.
 */
import { randomUUID } from 'crypto';
import { jsonEvent } from '@eventstore/db-client';
import { streamFor, toStoredEvent, type EventInput } from '@cairn/domain';
import { startEmbeddedNode, type EmbeddedNode } from '@cairn/esdb-embedded';
import { CairnEventStore, type EventToAppend } from './event-store';

function views(n: number, from: number): EventToAppend[] {
  return Array.from({ length: n }, (_, i) => {
    const input: EventInput = { type: 'view', customerId: `c${(from + i) % 7}`, occurredAt: '2026-01-01T00:00:00.000Z', channel: 'web', productId: 'p' };
    return { id: randomUUID(), streamId: streamFor(input), event: toStoredEvent(input), metadata: { receivedAt: '2026-01-01T00:00:00.000Z', correlationId: 't' } };
  });
}

describe('head and lag of the folded events', () => {
  let node: EmbeddedNode;
  let events: CairnEventStore;
  beforeAll(async () => {
    node = await startEmbeddedNode({ port: 0 });
    events = CairnEventStore.connect(node.connectionString);
  });
  afterAll(async () => {
    await events.close();
    await node.close();
  });

  it('skip system events, definitions and foreign events, over more than one page of the log', async () => {
    // A fresh node's $all already holds system events: no folded event yet.
    expect(await events.lastCairnEvent()).toBeNull();
    let last = 0n;
    for (let i = 0; i < 1200; i += 400) {
      const p = await events.append(views(400, i));
      if (p) last = p.commit;
    }
    // After the last folded event: 700 events nobody folds (more than a page of the backward scan).
    const foreign = Array.from({ length: 600 }, (_, i) => jsonEvent({ type: 'shop.stock-counted', data: { n: i } }));
    await events.client.appendToStream('stock', foreign);
    const definitions = Array.from({ length: 100 }, (_, i) => jsonEvent({ type: 'cairn.segment.defined.v1', data: { segmentId: `s${i}` } }));
    await events.client.appendToStream('segment-definitions', definitions);

    expect((await events.lastCairnEvent())?.position).toBe(last);
    const [all, afterLast, capped] = [...(await events.lagAfter([null, last], 2000)), ...(await events.lagAfter([null], 1000))];
    expect(all).toMatchObject({ count: 1200, capped: false });
    expect(afterLast).toMatchObject({ count: 0, capped: false, oldestCreated: null });
    expect(capped).toMatchObject({ count: 1000, capped: true });
  });
});
