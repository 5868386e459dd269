import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { statfs } from 'fs/promises';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { storeUnavailableReason } from '@cairn/read-models';
import { RUNTIME, type CairnRuntime } from '../runtime';
import { ApiAnswer } from '../openapi/openapi';

type Component = { status: 'up'; ms?: number; freeMb?: number } | { status: 'down'; reason: string; freeMb?: number };
type Components = Record<'eventStore' | 'readStore' | 'disk', Component>;

const PROBE_TIMEOUT_MS = 2000;
/** An append failure this recent keeps the event store not ready. */
const RECENT_FAILURE_MS = 5000;

/**
 * `/health/live`: the process answers (nothing else is checked: restart it only when this fails).
 * `/health/ready` (and `/health`, its alias): 200 while every component works, else 503 with
 * `Retry-After` and CAIRN.UNAVAILABLE naming the failing components — the event store (answers a
 * read; the embedded node also takes a synced write), the read store (answers a query) and the disk
 * (free space under the data directory ≥ CAIRN_DISK_MIN_FREE_MB, and no append failing for lack of
 * space in the last 5 s). Each request checks again, so readiness recovers by itself once the fault is gone.
 * Reasons are Cairn's own words; the drivers' texts go to the log.
 */
@ApiTags('health')
@Controller('health')
export class HealthHttpController {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  @Get('live')
  @ApiAnswer(200, 'Live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get()
  @ApiAnswer(200, 'Ready')
  ready(): Promise<{ status: 'ok'; components: Components }> {
    return this.check();
  }

  @Get('ready')
  @ApiAnswer(200, 'Ready')
  readyAlias(): Promise<{ status: 'ok'; components: Components }> {
    return this.check();
  }

  private async check(): Promise<{ status: 'ok'; components: Components }> {
    const { events, readStore, readiness } = this.runtime;
    const [eventStore, read, disk] = await Promise.all([
      this.probe('eventStore', () => events.ping()).then((c) => (c.status === 'up' && readiness?.probeEventStoreWrite ? this.writeProbe(readiness.probeEventStoreWrite, readiness.lastEventStoreWriteFailure, c) : c)),
      this.probe('readStore', () => readStore.ping()),
      this.disk(readiness?.disks ?? []),
    ]);
    // A write that failed for lack of space is the disk's fault too, whatever statfs says.
    const full = eventStore.status === 'down' && eventStore.reason.includes('disk full');
    const components: Components = {
      eventStore,
      readStore: read,
      disk: full && disk.status === 'up' ? { status: 'down', reason: 'writes fail: disk full', ...(disk.freeMb !== undefined ? { freeMb: disk.freeMb } : {}) } : disk,
    };
    const failing = (Object.entries(components) as [string, Component][]).filter(([, c]) => c.status === 'down');
    if (failing.length > 0) {
      const names = failing.map(([name, c]) => `${name} (${(c as { reason: string }).reason})`).join(', ');
      throw new CairnError(ERROR_CODES.UNAVAILABLE, `not ready: ${names}`, { components });
    }
    return { status: 'ok', components };
  }

  private async probe(component: string, check: () => Promise<void>): Promise<Component> {
    const started = Date.now();
    try {
      await withTimeout(check(), PROBE_TIMEOUT_MS);
      return { status: 'up', ms: Date.now() - started };
    } catch (err) {
      const reason = err instanceof TimeoutError ? `no answer within ${PROBE_TIMEOUT_MS} ms` : (storeUnavailableReason(err) ?? 'unavailable');
      this.runtime.logger.warn({ component, err }, `readiness: ${component} down (${reason})`);
      return { status: 'down', reason };
    }
  }

  /**
   * The embedded node: a synced tiny write (a full disk or a failing device shows even when no
   * client writes), and appends that failed within the last few seconds (a one-row write may fit
   * where an append does not). Once appends fail no longer, readiness recovers by itself.
   */
  private async writeProbe(probe: () => void | Promise<void>, lastFailure: (() => { code: string | undefined; at: Date } | undefined) | undefined, read: Component): Promise<Component> {
    try {
      await withTimeout(Promise.resolve(probe()), PROBE_TIMEOUT_MS);
    } catch (err) {
      const reason = err instanceof TimeoutError ? `no answer within ${PROBE_TIMEOUT_MS} ms` : (storeUnavailableReason(err) ?? 'unavailable');
      this.runtime.logger.warn({ component: 'eventStore', err }, `readiness: event store writes fail (${reason})`);
      return { status: 'down', reason: `writes fail: ${reason}` };
    }
    const failure = lastFailure?.();
    if (failure && Date.now() - failure.at.getTime() < RECENT_FAILURE_MS) {
      return { status: 'down', reason: `writes fail: ${storeUnavailableReason(failure) ?? 'unavailable'}` };
    }
    return read;
  }

  private async disk(dirs: readonly string[]): Promise<Component> {
    if (dirs.length === 0) return { status: 'up' };
    const minFree = this.runtime.config.diskMinFreeMb;
    let freeMb = Infinity;
    try {
      for (const dir of dirs) {
        const s = await statfs(dir);
        freeMb = Math.min(freeMb, Math.floor((s.bavail * s.bsize) / (1024 * 1024)));
      }
    } catch (err) {
      this.runtime.logger.warn({ err }, 'readiness: cannot stat the data directory');
      return { status: 'down', reason: 'data directory unreadable' };
    }
    return freeMb < minFree ? { status: 'down', reason: `${freeMb} MB free, below ${minFree} MB`, freeMb } : { status: 'up', freeMb };
  }
}

class TimeoutError extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new TimeoutError(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}
