import { FreshnessInterceptor } from './read-your-writes';

/** The interceptor with an event store that answers `head` and `lag` (or fails, or never answers). */
function interceptor(events: { lastCairnEvent: () => Promise<unknown>; lagAfter?: () => Promise<unknown> }) {
  return new FreshnessInterceptor({ events, config: { headWaitMs: 200 } } as never);
}

describe('FreshnessInterceptor.freshness', () => {
  const created = new Date(Date.now() - 2000);

  it('caught up: no lag, and no lag scan', async () => {
    const lagAfter = jest.fn();
    const f = await interceptor({ lastCairnEvent: async () => ({ position: 90n, created }), lagAfter }).freshness(90n);
    expect(f).toEqual({ position: '90', head: '90', lagEvents: 0, lagCapped: false, lagSeconds: 0 });
    expect(lagAfter).not.toHaveBeenCalled();
  });

  it('behind: the events after the position, capped, and the age of the oldest', async () => {
    const f = await interceptor({ lastCairnEvent: async () => ({ position: 900n, created }), lagAfter: async () => [{ count: 1000, capped: true, oldestCreated: created }] }).freshness(10n);
    expect(f).toMatchObject({ position: '10', head: '900', lagEvents: 1000, lagCapped: true });
    expect(f.lagSeconds).toBeGreaterThanOrEqual(2);
  });

  it('an empty log, and nothing folded yet', async () => {
    expect(await interceptor({ lastCairnEvent: async () => null }).freshness(null)).toEqual({ position: null, head: null, lagEvents: 0, lagCapped: false, lagSeconds: 0 });
  });

  it('an event store that fails or never answers: head and lag unknown, the answer is not held up', async () => {
    const down = { position: '5', head: 'unknown', lagEvents: null, lagCapped: false, lagSeconds: null };
    expect(await interceptor({ lastCairnEvent: () => Promise.reject(new Error('UNAVAILABLE')) }).freshness(5n)).toEqual(down);
    expect(await interceptor({ lastCairnEvent: () => new Promise(() => {}) }).freshness(5n)).toEqual(down); // resolves after headWaitMs
  });
});
