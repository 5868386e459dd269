/**
 * Boot-time waiting for a dependency (an external EventStoreDB, a PostgreSQL read store): an
 * orchestrator that starts everything at once should not see Cairn crash-loop while a database
 * comes up, and an operator should see which component it waits for. Retries with capped
 * exponential backoff, logging every failed attempt; after `timeoutMs` it throws CAIRN.UNAVAILABLE
 * naming the component, so the process exits non-zero with the reason.
 */
import { CairnError, ERROR_CODES } from '@cairn/domain';
import type { Logger } from './logger';

export async function waitForComponent<T>(
  component: string,
  where: string,
  attempt: () => Promise<T>,
  opts: { timeoutMs: number; logger: Logger; retryable?: (err: unknown) => boolean },
): Promise<T> {
  const started = Date.now();
  let delay = 250;
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const retryable = opts.retryable ? opts.retryable(err) : true;
      const reason = err instanceof Error ? err.message : String(err);
      const elapsed = Date.now() - started;
      if (!retryable || elapsed + delay > opts.timeoutMs) {
        if (!retryable) throw err;
        throw new CairnError(ERROR_CODES.UNAVAILABLE, `${component} unreachable at ${where} after ${n} attempt(s) in ${Math.round(elapsed / 1000)} s: ${reason}`, { component });
      }
      opts.logger.warn({ component, where, attempt: n, retryInMs: delay, err: reason }, `${component} unreachable, retrying`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }
}
