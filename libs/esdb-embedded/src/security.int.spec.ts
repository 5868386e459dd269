import { execFileSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { AccessDeniedError, EventStoreDBClient, UnknownError, persistentSubscriptionToStreamSettingsFromDefaults } from '@eventstore/db-client';
import { collect, ev, rejection, startHarness } from './test-support.spec';
import { startEmbeddedNode } from './index';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const opensslAvailable = hasOpenssl();
if (!opensslAvailable) {
  // eslint-disable-next-line no-console
  console.warn('security.int.spec: openssl is not installed — the TLS tests are skipped');
}
const tlsIt = opensslAvailable ? it : it.skip;

describe('TLS and credentials (through @eventstore/db-client)', () => {
  let dir: string;
  let certFile: string;
  let keyFile: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cairn-esdb-tls-'));
    certFile = join(dir, 'node.crt');
    keyFile = join(dir, 'node.key');
    if (opensslAvailable) {
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
        { stdio: 'ignore' },
      );
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  tlsIt('serves TLS: the client connects with tls=true and the root certificate', async () => {
    const node = await startEmbeddedNode({ port: 0, tls: { certFile, keyFile } });
    expect(node.connectionString).toMatch(/^esdb:\/\/127\.0\.0\.1:\d+\?tls=true&tlsCAFile=/);
    expect(node.secure).toBe(true);
    const client = EventStoreDBClient.connectionString(node.connectionString.replace('esdb://', 'esdb://admin:changeit@'));
    try {
      await client.appendToStream('tls-1', ev('A'));
      expect((await collect(client.readStream('tls-1'))).map((e) => e.event!.type)).toEqual(['A']);
    } finally {
      await client.dispose();
      await node.close();
    }
  });

  tlsIt('checks credentials when users are configured: right → ok, wrong → AccessDeniedError, none → AccessDeniedError', async () => {
    const node = await startEmbeddedNode({ port: 0, tls: { certFile, keyFile }, users: { admin: 'changeit' } });
    const base = node.connectionString.replace('esdb://', '');
    const good = EventStoreDBClient.connectionString(`esdb://admin:changeit@${base}`);
    const bad = EventStoreDBClient.connectionString(`esdb://admin:nope@${base}`);
    const anonymous = EventStoreDBClient.connectionString(node.connectionString);
    try {
      await good.appendToStream('auth-1', ev('A'));
      expect((await collect(good.readStream('auth-1'))).length).toBe(1);
      expect(await rejection(bad.appendToStream('auth-1', ev('B')))).toBeInstanceOf(AccessDeniedError);
      expect(await rejection(collect(bad.readStream('auth-1')))).toBeInstanceOf(AccessDeniedError);
      expect(await rejection(collect(anonymous.readAll()))).toBeInstanceOf(AccessDeniedError);
      // Per-call credentials (the unary Append path) are checked too.
      expect(await rejection(good.appendToStream('auth-1', ev('C'), { credentials: { username: 'admin', password: 'x' } }))).toBeInstanceOf(AccessDeniedError);
      await good.appendToStream('auth-1', ev('D'), { credentials: { username: 'admin', password: 'changeit' } });
      expect((await collect(good.readStream('auth-1'))).map((e) => e.event!.type)).toEqual(['A', 'D']);
    } finally {
      await Promise.all([good.dispose(), bad.dispose(), anonymous.dispose()]);
      await node.close();
    }
  });

  tlsIt('enforces $acl (read, write, delete, metadata read/write), $admins, $all and admin-only system streams', async () => {
    const usersFile = join(dir, 'users.json');
    writeFileSync(
      usersFile,
      JSON.stringify({ users: [{ name: 'alice', password: 'a-pass', groups: ['readers'] }, { name: 'bob', password: 'b-pass' }, { name: 'admin', password: 'new-admin-pass' }] }),
    );
    const node = await startEmbeddedNode({ port: 0, tls: { certFile, keyFile }, usersFile });
    const as = (user: string, pass: string) => EventStoreDBClient.connectionString(node.connectionString.replace('esdb://', `esdb://${user}:${pass}@`));
    const admin = as('admin', 'new-admin-pass');
    const alice = as('alice', 'a-pass');
    const bob = as('bob', 'b-pass');
    const oldAdmin = as('admin', 'changeit');
    const ops = as('ops', 'changeit');
    const denied = async (p: Promise<unknown>) => expect(await rejection(p)).toBeInstanceOf(AccessDeniedError);
    try {
      // The admin password is changed by the users file; the default one no longer works.
      await denied(oldAdmin.appendToStream('acl-0', ev('A')));
      // No $acl: user streams are open to every authenticated user.
      await bob.appendToStream('open-1', ev('A'));
      expect((await collect(alice.readStream('open-1'))).length).toBe(1);

      await admin.appendToStream('acl-1', ev('A'));
      await admin.setStreamMetadata('acl-1', { acl: { readRoles: ['readers'], writeRoles: ['bob'], deleteRoles: ['$admins'], metaReadRoles: ['alice'], metaWriteRoles: ['$admins'] } });
      expect((await collect(alice.readStream('acl-1'))).length).toBe(1); // by group
      await denied(collect(bob.readStream('acl-1')));
      await bob.appendToStream('acl-1', ev('B')); // by name
      await denied(alice.appendToStream('acl-1', ev('C')));
      await denied(bob.deleteStream('acl-1'));
      expect((await alice.getStreamMetadata('acl-1')).metadata?.acl?.readRoles).toEqual(['readers']);
      await denied(bob.getStreamMetadata('acl-1'));
      await denied(alice.setStreamMetadata('acl-1', { maxCount: 1 }));
      expect((await collect(admin.readStream('acl-1'))).length).toBe(2); // $admins may always

      // $all as a role: every authenticated user; still not anonymous callers.
      await admin.appendToStream('acl-2', ev('A'));
      await admin.setStreamMetadata('acl-2', { acl: { readRoles: ['$all'], writeRoles: ['$admins'] } });
      expect((await collect(bob.readStream('acl-2'))).length).toBe(1);
      const anonymous = EventStoreDBClient.connectionString(node.connectionString);
      await denied(collect(anonymous.readStream('acl-2')));
      await anonymous.dispose();

      // System streams and $all: admins only (ops is not an admin).
      expect((await collect(admin.readStream('$user-admin'))).length).toBe(1);
      await denied(collect(alice.readStream('$user-admin')));
      await denied(collect(ops.readAll({ maxCount: 1 })));
      expect((await collect(admin.readAll({ maxCount: 1 }))).length).toBe(1);
      await denied(alice.appendToStream('$system-thing', ev('A')));

      // Persistent subscriptions: managed by $admins and $ops; consuming needs read access to the stream.
      await denied(alice.createPersistentSubscriptionToStream('acl-1', 'g', persistentSubscriptionToStreamSettingsFromDefaults()));
      await ops.createPersistentSubscriptionToStream('acl-1', 'g', persistentSubscriptionToStreamSettingsFromDefaults());
      const sub = bob.subscribeToPersistentSubscriptionToStream('acl-1', 'g');
      const failure = await new Promise((resolve) => sub.on('error', resolve));
      expect(failure).toBeInstanceOf(AccessDeniedError);
    } finally {
      await Promise.all([admin, alice, bob, oldAdmin, ops].map((c) => c.dispose()));
      await node.close();
    }
  });

  tlsIt('refuses a users file it cannot use, naming the problem', async () => {
    const bad = join(dir, 'bad-users.json');
    writeFileSync(bad, JSON.stringify({ users: [{ name: 'carol' }] }));
    await expect(startEmbeddedNode({ port: 0, tls: { certFile, keyFile }, usersFile: bad })).rejects.toThrow(/carol: a password or passwordHash is required/);
  });

  it('is insecure without TLS: credentials are ignored and every call may do everything', async () => {
    const h = await startHarness({ users: { alice: 'secret' } });
    try {
      expect(h.node.secure).toBe(false);
      await h.client.setStreamMetadata('free-1', { acl: { readRoles: ['nobody'], writeRoles: ['nobody'] } });
      await h.client.appendToStream('free-1', ev('A'), { credentials: { username: 'anyone', password: 'anything' } });
      expect((await collect(h.client.readStream('free-1'))).length).toBe(1);
    } finally {
      await h.close();
    }
  });

  it('answers UNIMPLEMENTED cleanly for projections', async () => {
    const h = await startHarness();
    try {
      const err = await rejection(h.client.createProjection('p', 'fromAll().when({})'));
      expect(err).toBeInstanceOf(UnknownError);
      expect(String(err.message)).toMatch(/UNIMPLEMENTED/i);
      // The node still works afterwards.
      await h.client.appendToStream('after', ev('A'));
      expect((await collect(h.client.readStream('after'))).length).toBe(1);
    } finally {
      await h.close();
    }
  });

  it('finds the node through gossip discovery (esdb+discover://)', async () => {
    const node = await startEmbeddedNode({ port: 0 });
    const client = EventStoreDBClient.connectionString(node.connectionString.replace('esdb://', 'esdb+discover://'));
    try {
      await client.appendToStream('gossip-1', ev('A'));
      expect((await collect(client.readStream('gossip-1'))).length).toBe(1);
    } finally {
      await client.dispose();
      await node.close();
    }
  });
});
