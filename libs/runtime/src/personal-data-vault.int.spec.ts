/**
 * The vault on a real read store (SQLite and PostgreSQL): sealing and opening round-trip every
 * personal value (property), a sealed value is bound to its event and field, erasure makes every
 * value of the person unreadable and keeps later ones out, and concurrent first seals agree on one key.
 */
import fc from 'fast-check';
import { randomBytes, randomUUID } from 'crypto';
import { isSealed, type CairnEvent } from '@cairn/domain';
import type { EventToAppend } from '@cairn/event-store';
import { dropAndClose, readStoreDialects } from '../../../test/support/read-stores';
import { LocalKeyEncryptionKey, PersonalDataVault } from './personal-data-vault';

const kek = () => new LocalKeyEncryptionKey(randomBytes(32), 'test');
const metadata = { receivedAt: '2026-06-01T00:00:00Z', correlationId: 't' };
const identify = (customerId: string, traits: Record<string, string | number | boolean>): EventToAppend => ({
  id: randomUUID(),
  streamId: `customer-${customerId}`,
  event: { type: 'cairn.identify.v1', data: { customerId, anonymousId: `v-${customerId}`, occurredAt: '2026-06-01T00:00:00Z', channel: 'web', traits } } as CairnEvent,
  metadata,
});
const recorded = (a: EventToAppend) => ({ id: a.id, type: a.event.type, data: a.event.data as Record<string, unknown> });

describe.each(readStoreDialects('t_vault'))('personal data vault on %s', (_name, open) => {
  it('opens what it sealed, for any traits; the log form holds no plaintext', async () => {
    const store = await open();
    try {
      const vault = await PersonalDataVault.open(store, kek());
      const scalar = fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean());
      await fc.assert(
        fc.asyncProperty(fc.dictionary(fc.stringMatching(/^[a-z][a-zA-Z0-9_]{0,15}$/), scalar, { minKeys: 1, maxKeys: 6 }), fc.constantFrom('c1', 'c2', 'c3'), async (traits, customer) => {
          const [sealed] = await vault.seal([identify(customer, traits)]);
          const stored = (sealed!.event.data as { traits: Record<string, unknown> }).traits;
          expect(Object.keys(stored).sort()).toEqual(Object.keys(traits).sort());
          for (const v of Object.values(stored)) expect(isSealed(v)).toBe(true);
          const [opened] = await vault.open([recorded(sealed!)]);
          expect(opened!.erased).toEqual([]);
          expect((opened!.data as { traits: unknown }).traits).toEqual(JSON.parse(JSON.stringify(traits)));
        }),
        { numRuns: 60 },
      );
    } finally {
      await dropAndClose(store);
    }
  });

  it('binds a sealed value to its event and field', async () => {
    const store = await open();
    try {
      const vault = await PersonalDataVault.open(store, kek());
      const [a, b] = await vault.seal([identify('c1', { email: 'a@x.test', name: 'A' }), identify('c1', { email: 'b@x.test' })]);
      const moved = { ...recorded(b!), data: { ...recorded(b!).data, traits: { email: (a!.event.data as { traits: { email: string } }).traits.email } } };
      const swapped = { ...recorded(a!), data: { ...recorded(a!).data, traits: { email: (a!.event.data as { traits: { name: string } }).traits.name } } };
      const [m, s] = await vault.open([moved, swapped]);
      expect([m!.erased, s!.erased]).toEqual([['traits.email'], ['traits.email']]);
    } finally {
      await dropAndClose(store);
    }
  });

  it('erases a person for good: old values unreadable, new ones not kept, other people untouched', async () => {
    const store = await open();
    try {
      const vault = await PersonalDataVault.open(store, kek());
      const [mine, theirs] = await vault.seal([identify('gone', { email: 'g@x.test' }), identify('stays', { email: 's@x.test' })]);
      const erased = await vault.erase(['customer-gone', 'visitor-never-seen'], 'e1', '2026-06-02T00:00:00Z', async () => undefined);
      expect(erased.subjects).toEqual(['customer-gone', 'visitor-never-seen']);
      expect(erased.fingerprints).toHaveLength(1);
      const [m, t] = await vault.open([recorded(mine!), recorded(theirs!)]);
      expect([m!.data.traits, m!.erased]).toEqual([{ email: null }, ['traits.email']]);
      expect(t!.data.traits).toEqual({ email: 's@x.test' });
      // A second vault (another process) on the same store: the same answers, and no key made anew.
      const other = await PersonalDataVault.open(store, (vault as unknown as { kek: LocalKeyEncryptionKey }).kek);
      const [later, visitor] = await other.seal([identify('gone', { email: 'again@x.test' }), { ...identify('x', { name: 'V' }), streamId: 'visitor-never-seen' }]);
      expect([(later!.event.data as { traits: unknown }).traits, (visitor!.event.data as { traits: unknown }).traits]).toEqual([{}, {}]);
      expect((await other.erasedSubjects(['customer-gone', 'customer-stays'])).has('customer-stays')).toBe(false);
      // Erasing again destroys nothing more.
      expect((await vault.erase(['customer-gone'], 'e2', '2026-06-03T00:00:00Z', async () => undefined)).fingerprints).toEqual([]);
    } finally {
      await dropAndClose(store);
    }
  });

  it('concurrent first seals of one person agree on one key; another KEK is refused', async () => {
    const store = await open();
    try {
      const k = kek();
      const [v1, v2] = [await PersonalDataVault.open(store, k), await PersonalDataVault.open(store, k)];
      const sealed = await Promise.all([v1.seal([identify('race', { email: 'r1@x.test' })]), v2.seal([identify('race', { email: 'r2@x.test' })])]);
      const opened = await v1.open(sealed.map((s) => recorded(s[0]!)));
      expect(opened.map((o) => (o.data as { traits: { email: string } }).traits.email)).toEqual(['r1@x.test', 'r2@x.test']);
      expect(await store.db.selectFrom('privacy_keys').select('subject').where('subject', '=', 'customer-race').execute()).toHaveLength(1);
      await expect(PersonalDataVault.open(store, kek())).rejects.toThrow(/not the one that wrapped the data keys/);
    } finally {
      await dropAndClose(store);
    }
  });
});
