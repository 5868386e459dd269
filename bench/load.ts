/**
 * Load shapes shared by the suites that run against `cairn start`: ingest paced at a fixed rate
 * (batches sent on a clock, a bounded number in flight) while something else is measured, and the
 * resident memory of a child process from /proc.
 */
import { readFileSync } from 'fs';
import type { EventInput } from '@cairn/domain';
import { httpCall } from './spine.bench';

export interface PacedIngest {
  /** Stops sending, waits for the requests in flight; events accepted and seconds elapsed. */
  stop(): Promise<{ events: number; seconds: number; behind: number; latenciesMs: number[] }>;
}

/**
 * POSTs `batchOf(i)` (i = 0, 1, …) to /v1/events so that `eventsPerSecond` are sent on average:
 * every 5 ms, as many batches as are due go out, at most `maxInFlight` at once. `behind` counts
 * ticks when a due batch could not go out (the server is slower than the pace).
 */
export function pacedIngest(url: string, key: string, eventsPerSecond: number, batchOf: (i: number) => EventInput[], maxInFlight = 8): PacedIngest {
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  let sent = 0;
  let events = 0;
  let inFlight = 0;
  let behind = 0;
  const latenciesMs: number[] = [];
  let failure: Error | null = null;
  const pending = new Set<Promise<void>>();
  const size = batchOf(0).length;
  const tick = () => {
    const due = Math.floor((elapsed() * eventsPerSecond) / size);
    while (sent < due && failure === null) {
      if (inFlight >= maxInFlight) {
        behind += 1;
        break;
      }
      const body = JSON.stringify({ events: batchOf(sent++) });
      inFlight += 1;
      const t0 = process.hrtime.bigint();
      const p = httpCall(`${url}/v1/events`, 'POST', key, body)
        .then((res) => {
          if (res.status !== 202) throw new Error(`ingest answered ${res.status}: ${res.body.slice(0, 200)}`);
          latenciesMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
          events += size;
        })
        .catch((err: Error) => void (failure ??= err))
        .finally(() => {
          inFlight -= 1;
          pending.delete(p);
        });
      pending.add(p);
    }
  };
  const timer = setInterval(tick, 5);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all([...pending]);
      if (failure) throw failure;
      return { events, seconds: elapsed(), behind, latenciesMs: latenciesMs.sort((a, b) => a - b) };
    },
  };
}

/** VmRSS of a process in MB (0 once it is gone). */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Least-squares slope of y over x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
