import fc from 'fast-check';
import { backoffMs, retryAfterMs } from './webhook-delivery';
import { checkWebhookUrl, refusedAddress, webhookUrlProblem } from './url-guard';

describe('webhook URL guard', () => {
  it('refuses link-local and metadata addresses under every policy, loopback and http unless dev', async () => {
    for (const policy of ['strict', 'dev'] as const) {
      for (const a of ['169.254.169.254', '169.254.0.1', 'fe80::1', 'fd00:ec2::254', '::ffff:169.254.169.254', '0.0.0.0', '224.0.0.1', '100.100.100.200']) expect([a, refusedAddress(a, policy)]).toEqual([a, expect.any(String)]);
      expect(webhookUrlProblem('https://metadata.google.internal/computeMetadata/v1', policy)).toMatch(/metadata/);
      expect(webhookUrlProblem('https://user:pw@hooks.example/x', policy)).toMatch(/credentials/);
    }
    expect(refusedAddress('127.0.0.1', 'strict')).toMatch(/loopback/);
    expect(refusedAddress('::1', 'strict')).toMatch(/loopback/);
    expect(refusedAddress('127.0.0.1', 'dev')).toBeNull();
    expect(refusedAddress('10.1.2.3', 'strict')).toBeNull();
    expect(webhookUrlProblem('http://hooks.example/x', 'strict')).toMatch(/https/);
    expect(webhookUrlProblem('http://hooks.example/x', 'dev')).toBeNull();
    expect(await checkWebhookUrl('https://localhost/x', 'strict')).toMatch(/loopback/);
    expect(await checkWebhookUrl('https://127.0.0.1/x', 'strict')).toMatch(/loopback/);
    expect(await checkWebhookUrl('https://no-such-host.invalid/x', 'strict')).toMatch(/does not resolve/);
    expect(await checkWebhookUrl('http://no-such-host.invalid/x', 'dev')).toBeNull();
  });

  it('backs off exponentially with jitter in [0.5, 1) of the step, each step at most an hour', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 10, max: 60_000 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (n, base, r) => {
        const step = Math.min(3_600_000, base * 2 ** (n - 1));
        const d = backoffMs(n, base, r);
        return d >= Math.floor(step * 0.5) && d <= step;
      }),
    );
    expect(backoffMs(3, 1000, 0)).toBe(2000);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = new Date('2026-12-02T10:00:00Z');
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs('Wed, 02 Dec 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs(undefined, now)).toBeNull();
    expect(retryAfterMs('soon', now)).toBeNull();
  });
});
