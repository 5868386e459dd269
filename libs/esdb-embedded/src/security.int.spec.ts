import { execFileSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { AccessDeniedError, EventStoreDBClient, UnknownError } from '@eventstore/db-client';
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
    const client = EventStoreDBClient.connectionString(node.connectionString);
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

  it('accepts (and ignores) credentials when no users are configured', async () => {
    const h = await startHarness();
    try {
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
