/** Test doubles for the SDK's unit specs (not part of the published build). */
import type { RequestInitLike, StorageLike, TimerHandle, Timers, WireEvent } from '../types';

export class FakeStorage implements StorageLike {
  readonly map = new Map<string, string>();
  getItem(key: string): string | null {
    return this.map.has(key) ? this.map.get(key)! : null;
  }
  setItem(key: string, value: string): void {
    this.map.set(key, String(value));
  }
  removeItem(key: string): void {
    this.map.delete(key);
  }
  key(index: number): string | null {
    return [...this.map.keys()][index] ?? null;
  }
  get length(): number {
    return this.map.size;
  }
}

export interface Call {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly events: WireEvent[];
  readonly bytes: number;
  readonly keepalive: boolean;
  readonly at: number;
}

export type Reply = Response | 'network-error' | 'hang';

/**
 * A fake Cairn ingest endpoint behind `fetch`: by default accepts every event and dedupes by id,
 * like the real server. `script` can override the reply per call.
 */
export class FakeServer {
  readonly calls: Call[] = [];
  readonly stored = new Map<string, WireEvent>();
  script: ((call: Call, index: number) => Reply | undefined) | undefined;

  readonly fetch = async (url: string, init: RequestInitLike): Promise<Response> => {
    const body = String(init.body);
    const parsed = JSON.parse(body) as { events: WireEvent[] };
    const call: Call = {
      url,
      headers: init.headers as Record<string, string>,
      events: parsed.events,
      bytes: new TextEncoder().encode(body).length,
      keepalive: init.keepalive === true,
      at: Date.now(),
    };
    this.calls.push(call);
    const reply = this.script?.(call, this.calls.length - 1);
    if (reply === 'network-error') throw new TypeError('fetch failed');
    if (reply === 'hang')
      return new Promise<Response>((_, reject) =>
        init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))),
      );
    if (reply) return reply;
    return this.accept(call);
  };

  accept(call: Call): Response {
    const results = call.events.map((e, index) => {
      const dup = this.stored.has(e.id);
      if (!dup) this.stored.set(e.id, e);
      return { index, id: e.id, status: dup ? 'duplicate' : 'accepted' };
    });
    return json(202, { results, position: null });
  }

  sentIds(): string[] {
    return this.calls.flatMap((c) => c.events.map((e) => e.id));
  }
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/** Timers that run only when advanced: lets a spec freeze one tab (a "dead" tab) entirely. */
export class ManualTimers implements Timers {
  private seq = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  constructor(public time = 0) {}
  readonly now = (): number => this.time;
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.pending.set(id, { at: this.time + ms, fn });
    return id;
  }
  clearTimeout(handle: TimerHandle): void {
    this.pending.delete(handle as number);
  }
  get size(): number {
    return this.pending.size;
  }
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.pending.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.time = Math.max(this.time, due[1].at);
      due[1].fn();
      await flushMicrotasks();
    }
    this.time = end;
    await flushMicrotasks();
  }
}

export async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise((r) => setImmediate(r));
}

export function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (cond()) return resolve();
      if (Date.now() - start > timeoutMs) return reject(new Error('until: timed out'));
      setTimeout(tick, 5);
    };
    tick();
  });
}
