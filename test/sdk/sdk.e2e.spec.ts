/** The SDK against a real, embedded Cairn (event store + API + projector): every event type, end to end. */
import { Cairn, type DeliveredReport, type DroppedReport, type RejectedReport } from '@cairn/sdk';
import { startCairn, type TestCairn } from '../support/cairn';
import { getProfile, maxPosition } from './helpers';

let cairn: TestCairn;
beforeAll(async () => {
  cairn = await startCairn();
}, 60_000);
afterAll(async () => {
  await cairn?.close();
});

function client(opts: Partial<ConstructorParameters<typeof Cairn>[0]> = {}): { sdk: Cairn; delivered: DeliveredReport[]; rejected: RejectedReport[]; dropped: DroppedReport[] } {
  const sdk = new Cairn({ writeKey: cairn.adminKey, host: cairn.url, channel: 'web', flushAt: 100, ...opts });
  const delivered: DeliveredReport[] = [];
  const rejected: RejectedReport[] = [];
  const dropped: DroppedReport[] = [];
  sdk.on('delivered', (r) => delivered.push(r));
  sdk.on('rejected', (r) => rejected.push(r));
  sdk.on('dropped', (r) => dropped.push(r));
  return { sdk, delivered, rejected, dropped };
}

describe('SDK → real Cairn', () => {
  it('delivers every event type; the profile shows each exactly once; a re-send is a duplicate', async () => {
    const cust = `sdk-e2e-${Date.now()}`;
    const friend = `${cust}-friend`;
    const anon = `anon-${Date.now()}`;
    const { sdk, delivered, rejected, dropped } = client();
    const ids = [
      sdk.view({ anonymousId: anon, productId: 'shoe-1', category: 'shoes', priceMinor: 5000, currency: 'USD' }),
      sdk.identify({ customerId: cust, anonymousId: anon, traits: { email: 'ada@example.com', name: 'Ada' } }),
      sdk.view({ customerId: cust, productId: 'shoe-1', channel: 'app', context: { campaign: 'bf' } }),
      sdk.view({ customerId: cust, productId: 'shoe-2' }),
      sdk.purchase({
        customerId: cust,
        orderId: `${cust}-o1`,
        currency: 'USD',
        items: [
          { productId: 'shoe-1', quantity: 2, unitPriceMinor: 5000, category: 'shoes' },
          { productId: 'sock-1', quantity: 1, unitPriceMinor: 900 },
        ],
        shippingMinor: 500,
        taxMinor: 100,
        discountMinor: 1000,
        totalMinor: 10_500,
        couponCode: 'WELCOME',
      }),
      sdk.return({ customerId: cust, orderId: `${cust}-o1`, items: [{ productId: 'sock-1', quantity: 1 }], refundMinor: 900, currency: 'USD', reason: 'size' }),
      sdk.review({ customerId: cust, productId: 'shoe-1', rating: 4, orderId: `${cust}-o1`, title: 'Good', body: 'Comfortable.' }),
      sdk.referral({ customerId: cust, referralCode: 'ADA10', refereeId: friend }),
    ];
    const stats = await sdk.closeAndFlush({ timeoutMs: 20_000 });
    expect(rejected).toEqual([]);
    expect(dropped).toEqual([]);
    expect(delivered.map((d) => [d.event.id, d.status])).toEqual(ids.map((id) => [id, 'accepted']));
    expect(stats).toMatchObject({ delivered: 8, duplicates: 0, rejected: 0, dropped: 0, queued: 0, inFlight: 0 });

    const profile = await getProfile(cairn.url, cairn.adminKey, cust, maxPosition(delivered));
    // 3 views: the anonymous view before the identify is the customer's too (identity links it retroactively).
    expect(profile).toMatchObject({ views: 3, orders: 1, grossMinor: 10_500, refundedMinor: 900, netMinor: 9600, reviews: 1, averageRating: 4, referralsMade: 1 });
    expect((profile!.channels as string[]).sort()).toEqual(['app', 'web']);

    // The same events again (same ids), e.g. a retry after a lost response: duplicates, counted once.
    const again = client();
    for (const d of delivered) {
      const { type, ...rest } = d.event;
      (again.sdk as unknown as Record<string, (x: unknown) => string>)[type](rest);
    }
    await again.sdk.closeAndFlush({ timeoutMs: 20_000 });
    expect(again.delivered.map((d) => d.status)).toEqual(Array(8).fill('duplicate'));
    expect(again.sdk.stats()).toMatchObject({ delivered: 8, duplicates: 8 });
    const after = await getProfile(cairn.url, cairn.adminKey, cust, maxPosition(again.delivered));
    expect(after).toMatchObject({ views: 3, orders: 1, grossMinor: 10_500, reviews: 1, referralsMade: 1 });
  });

  it("reports the server's per-event rejections with field errors, delivering the rest of the batch", async () => {
    const cust = `sdk-e2e-rej-${Date.now()}`;
    const { sdk, delivered, rejected } = client();
    const good = sdk.view({ customerId: cust, productId: 'p1' });
    // passes the client's format check (three upper-case letters) but is no ISO 4217 currency
    const bad = sdk.return({ customerId: cust, orderId: 'o-x', items: [{ productId: 'p1', quantity: 1 }], refundMinor: 100, currency: 'QQQ' });
    await sdk.closeAndFlush({ timeoutMs: 20_000 });
    expect(delivered.map((d) => d.event.id)).toEqual([good]);
    expect(rejected).toHaveLength(1);
    expect(rejected[0].event.id).toBe(bad);
    expect(rejected[0].errors.map((e) => e.field)).toContain('currency');
    expect(sdk.stats()).toMatchObject({ delivered: 1, rejected: 1, retries: 0 });
  });

  it('does not retry an invalid write key: dropped with the reason, reported on error', async () => {
    const { sdk, dropped } = client({ writeKey: 'not-a-key' });
    const errors: Error[] = [];
    sdk.on('error', (e) => errors.push(e));
    sdk.view({ customerId: 'nobody', productId: 'p' });
    const stats = await sdk.closeAndFlush({ timeoutMs: 10_000 });
    expect(stats).toMatchObject({ dropped: 1, retries: 0, delivered: 0 });
    expect(dropped[0].reason).toBe('not-retryable');
    expect(dropped[0].detail).toMatch(/^HTTP 401/);
    expect(errors).toHaveLength(1);
  });
});
