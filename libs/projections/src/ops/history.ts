/**
 * Reading Cairn's history for rebuilds and replays: `$all` forwards, in batches, from an exclusive
 * position, Cairn's event types only. One long read (not a subscription): the caller decides what
 * "caught up" means. The client's `readAll` (6.x) sends no server-side filter (only subscriptions
 * filter), so other events (system events, Cairn's definitions) cross the wire and are skipped here.
 */
import { Worker } from 'worker_threads';
import { FORWARDS, START, type AllStreamResolvedEvent } from '@eventstore/db-client';
import { CAIRN_EVENT_TYPE_PREFIX } from '@cairn/domain';
import type { CairnEventStore } from '@cairn/event-store';
import { toLogEvent } from '../engine/decode';
import type { LogEvent } from '../projection';

/**
 * The events of the log after `from`, in batches. With the store's connection string known, the
 * read runs in a worker thread of its own (its own client connection): the gRPC and protobuf
 * decoding and the JSON parse of every event (as much CPU as the raw read, one core's worth) then
 * run beside the fold and the writes instead of before them. The worker reads ahead at most
 * `READ_AHEAD` batches (credit-based: it stops pulling from the stream, so HTTP/2 flow control
 * stops the server), so memory stays bounded whatever the consumer's speed.
 */
export async function* readHistory(events: CairnEventStore, from: bigint | null, batchSize: number): AsyncGenerator<LogEvent[]> {
  if (events.connectionString !== undefined) yield* readInWorker(events.connectionString, from, batchSize);
  else yield* readInThread(events, from, batchSize);
}

async function* readInThread(events: CairnEventStore, from: bigint | null, batchSize: number): AsyncGenerator<LogEvent[]> {
  const read = events.client.readAll({
    direction: FORWARDS,
    fromPosition: from === null ? START : { commit: from, prepare: from },
    maxCount: Number.MAX_SAFE_INTEGER,
  });
  let batch: LogEvent[] = [];
  let finished = false;
  try {
    for await (const resolved of read) {
      const e = toLogEvent(resolved);
      if (e === null || (from !== null && e.position <= from)) continue;
      batch.push(e);
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
    finished = true;
    if (batch.length > 0) yield batch;
  } finally {
    // Left early (a strict rebuild's poison, an abort): cancel the gRPC call, or it stays open and
    // the client's dispose waits for it.
    if (!finished) await (read as unknown as { cancel(): Promise<void> }).cancel().catch(() => undefined);
  }
}

/** Batches the worker may read ahead of the consumer. */
const READ_AHEAD = 3;

/*
 * The worker: plain CommonJS, evaluated (so it runs the same from the TypeScript sources under the
 * test runner and from dist). It posts what `toLogEvent` needs of each resolved event, Cairn event
 * types only, and a batch only when the consumer has granted a credit.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('worker_threads');
const { EventStoreDBClient, FORWARDS, START } = require(workerData.clientModule);
const { connectionString, from, batchSize, prefix } = workerData;
let credit = 0;
let wake = null;
parentPort.on('message', (m) => {
  if (m === 'more') { credit += 1; if (wake) { const w = wake; wake = null; w(); } }
});
async function main() {
  const client = EventStoreDBClient.connectionString(connectionString);
  try {
    // Unfiltered (the client's readAll sends no filter): only Cairn's types are posted to the consumer.
    const read = client.readAll({ direction: FORWARDS, fromPosition: from === null ? START : { commit: from, prepare: from }, maxCount: Number.MAX_SAFE_INTEGER });
    let batch = [];
    const send = async () => {
      while (credit === 0) await new Promise((r) => (wake = r));
      credit -= 1;
      parentPort.postMessage({ kind: 'batch', events: batch });
      batch = [];
    };
    for await (const r of read) {
      const e = r.event;
      if (!e || !e.isJson || !e.position || typeof e.type !== 'string' || !e.type.startsWith(prefix)) continue;
      if (from !== null && e.position.commit <= from) continue;
      batch.push({ event: { id: e.id, type: e.type, isJson: true, data: e.data, metadata: e.metadata, streamId: e.streamId, revision: e.revision, position: e.position } });
      if (batch.length >= batchSize) await send();
    }
    if (batch.length > 0) await send();
    parentPort.postMessage({ kind: 'end' });
  } finally {
    await client.dispose().catch(() => undefined);
  }
}
main().catch((err) => parentPort.postMessage({ kind: 'error', message: err && err.message ? err.message : String(err) }));
`;

type WorkerMessage = { kind: 'batch'; events: AllStreamResolvedEvent[] } | { kind: 'end' } | { kind: 'error'; message: string } | { kind: 'exit'; code: number };

async function* readInWorker(connectionString: string, from: bigint | null, batchSize: number): AsyncGenerator<LogEvent[]> {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    // Its live data is a few batches: a small heap makes it collect its garbage often instead of
    // growing its heap (and the process's RSS) to the allocation rate.
    resourceLimits: { maxOldGenerationSizeMb: 96, maxYoungGenerationSizeMb: 16 },
    workerData: { clientModule: require.resolve('@eventstore/db-client'), connectionString, from, batchSize, prefix: CAIRN_EVENT_TYPE_PREFIX },
  });
  const queue: WorkerMessage[] = [];
  let wake: (() => void) | null = null;
  const push = (m: WorkerMessage) => {
    queue.push(m);
    const w = wake;
    wake = null;
    w?.();
  };
  worker.on('message', (m: WorkerMessage) => push(m));
  worker.on('error', (err: Error) => push({ kind: 'error', message: err.message }));
  worker.on('exit', (code: number) => push({ kind: 'exit', code }));
  try {
    for (let i = 0; i < READ_AHEAD; i++) worker.postMessage('more');
    for (;;) {
      while (queue.length === 0) await new Promise<void>((r) => (wake = r));
      const m = queue.shift()!;
      if (m.kind === 'end') return;
      if (m.kind === 'error') throw new Error(`reading the log: ${m.message}`);
      if (m.kind === 'exit') throw new Error(`reading the log: the reader thread exited (code ${m.code})`);
      worker.postMessage('more');
      const batch: LogEvent[] = [];
      for (const r of m.events) {
        const e = toLogEvent(r);
        if (e !== null) batch.push(e);
      }
      if (batch.length > 0) yield batch;
    }
  } finally {
    // Ends the read (and its connection) wherever the consumer stopped.
    await worker.terminate();
  }
}

/** Commit position of the last event projections fold, or null when there is none. */
export async function headPosition(events: CairnEventStore): Promise<bigint | null> {
  return (await events.lastCairnEvent())?.position ?? null;
}

/** Progress of a pass over the log, as events done, an estimated total, rate and ETA. */
export class Progress {
  private readonly started = Date.now();
  private readonly startDone: number;
  constructor(
    private readonly from: bigint,
    public head: bigint,
    public done: number,
  ) {
    this.startDone = done;
  }

  snapshot(position: bigint | null): { done: number; total: number; rate: number; etaSeconds: number | null; fraction: number } {
    const span = this.head - this.from;
    const at = position === null ? this.from : position;
    const fraction = span <= 0n ? 1 : Math.min(1, Number(at - this.from) / Number(span));
    const seconds = (Date.now() - this.started) / 1000;
    const rate = seconds > 0 ? (this.done - this.startDone) / seconds : 0;
    const newDone = this.done - this.startDone;
    // Events are not evenly spread over positions, but near enough for a progress bar.
    const total = fraction > 0 ? Math.max(this.done, Math.round(this.startDone + newDone / fraction)) : this.done;
    const etaSeconds = rate > 0 ? Math.max(0, (total - this.done) / rate) : null;
    return { done: this.done, total, rate: Math.round(rate), etaSeconds: etaSeconds === null ? null : Math.round(etaSeconds), fraction };
  }
}
