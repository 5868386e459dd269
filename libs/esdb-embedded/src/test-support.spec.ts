/**
 * Shared helpers of the node's black-box tests (named *.spec.ts so the build skips it; jest only runs
 * *.int.spec.ts / *.unit.spec.ts). Everything goes through the real @eventstore/db-client.
 */
import { EventStoreDBClient, jsonEvent, type ResolvedEvent } from '@eventstore/db-client';
import { startEmbeddedNode, type EmbeddedNode, type EmbeddedNodeOptions } from './index';

export interface Harness {
  node: EmbeddedNode;
  client: EventStoreDBClient;
  close(): Promise<void>;
}

export async function startHarness(options: EmbeddedNodeOptions = {}): Promise<Harness> {
  const node = await startEmbeddedNode({ port: 0, ...options });
  const client = EventStoreDBClient.connectionString(node.connectionString);
  return {
    node,
    client,
    close: async () => {
      await client.dispose();
      await node.close();
    },
  };
}

export function ev(type: string, data: Record<string, unknown> = {}, id?: string) {
  return jsonEvent({ type, data, ...(id ? { id } : {}) });
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iterable) out.push(x);
  return out;
}

/** Collects a subscription's events until `until` says stop; also records the order of caughtUp signals. */
/** Any client subscription (stream or $all): only its events are used. */
type Subscribable = import('events').EventEmitter;

export function record(sub: Subscribable) {
  const events: ResolvedEvent[] = [];
  const marks: Array<'caughtUp' | 'fellBehind' | 'confirmation'> = [];
  sub.on('caughtUp', () => marks.push('caughtUp'));
  sub.on('fellBehind', () => marks.push('fellBehind'));
  sub.on('confirmation', () => marks.push('confirmation'));
  let error: unknown;
  sub.on('data', (e: ResolvedEvent) => events.push(e));
  sub.on('error', (e: unknown) => {
    error = e;
  });
  return {
    events,
    marks,
    get error() {
      return error;
    },
    waitFor: (pred: () => boolean, timeoutMs = 10_000) => waitFor(pred, timeoutMs),
  };
}

export async function waitFor(pred: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for condition');
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function rejection(p: Promise<unknown>): Promise<Error & { type?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { type?: string };
  }
  throw new Error('expected a rejection');
}

/** A fresh node's $all starts with system events (as EventStoreDB's does): the events of clients' own streams. */
export function userEvents<T extends { event?: { streamId: string } }>(events: T[]): T[] {
  return events.filter((e) => !e.event!.streamId.startsWith('$'));
}
