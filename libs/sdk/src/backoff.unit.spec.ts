import fc from 'fast-check';
import { backoffDelay, isRetryableStatus, parseRetryAfter } from './backoff';

describe('backoff with full jitter', () => {
  it('stays in [0, min(cap, base·2^(n-1))] for any failure count and random draw', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (n, r) => {
        const d = backoffDelay(n, 500, 30_000, () => r);
        return d >= 0 && d <= Math.min(30_000, 500 * 2 ** (n - 1)) && Number.isInteger(d);
      }),
    );
  });
  it('grows exponentially up to the cap (upper bound with random → 1)', () => {
    const top = (n: number): number => backoffDelay(n, 100, 5000, () => 0.999999);
    expect([1, 2, 3, 4, 5, 6, 7].map(top)).toEqual([99, 199, 399, 799, 1599, 3199, 4999]);
  });
  it('uses the whole range (full jitter, not equal jitter)', () => {
    expect(backoffDelay(5, 100, 5000, () => 0)).toBe(0);
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2026-11-28T10:00:00Z');
  it('parses delta-seconds', () => {
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000);
  });
  it('parses an HTTP-date relative to now, never negative', () => {
    expect(parseRetryAfter('Sat, 28 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sat, 28 Nov 2026 09:00:00 GMT', now)).toBe(0);
  });
  it('ignores absent or malformed values', () => {
    for (const v of [null, undefined, '', '-1', '1.5', 'soon', '12abc']) expect(parseRetryAfter(v, now)).toBeUndefined();
  });
  it('retries 408, 429 and 5xx only', () => {
    expect([408, 429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 409, 413, 422].some(isRetryableStatus)).toBe(false);
  });
});
