/**
 * Behaviours where the node used to differ from EventStoreDB 23.10, black-box through the real client: the
 * maximum append size rule, the batch-append deadline, soft-deleting a stream that never existed, and the
 * system events a fresh node's $all starts with. Plus the CLI's insecure notice.
 */
import { execFile } from 'child_process';
import { join } from 'path';
import { DeadlineExceededError, MaxAppendSizeExceededError, WrongExpectedVersionError, jsonEvent } from '@eventstore/db-client';
import { collect, ev, rejection, startHarness, type Harness } from './test-support.spec';
import { parseEsdbArgs, UsageError } from './cli';

describe('differences from EventStoreDB, fixed', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('counts only event data against the maximum append size (EventStoreDB 23.10), so 30,000 small events fit in 1 MiB', async () => {
    // ~949 kB of data, but with types and metadata well over 1 MiB: EventStoreDB 23.10 accepts it.
    const events = Array.from({ length: 30_000 }, (_, i) => jsonEvent({ type: 'SomethingHappened', data: { n: i, pad: 'xxxxxxxxxxxx' }, metadata: { correlationId: 'c' } }));
    const dataBytes = events.reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e.data)), 0);
    expect(dataBytes).toBeLessThan(1_048_576);
    expect(dataBytes).toBeGreaterThan(900_000);
    const result = await h.client.appendToStream('big-but-fits', events);
    expect(result.nextExpectedRevision).toBe(29_999n);
    // Data alone over the limit is refused.
    const tooBig = [jsonEvent({ type: 'T', data: { blob: 'y'.repeat(600_000) } }), jsonEvent({ type: 'T', data: { blob: 'y'.repeat(600_000) } })];
    const err = await rejection(h.client.appendToStream('too-big', tooBig));
    expect(err).toBeInstanceOf(MaxAppendSizeExceededError);
    expect((err as MaxAppendSizeExceededError).maxAppendSize).toBe(1_048_576);
  });

  it('honours the deadline sent inside a batch append: an expired one is answered Timeout (DeadlineExceededError)', async () => {
    const err = await rejection(h.client.appendToStream('late', ev('A'), { deadline: 0 }));
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(await rejection(collect(h.client.readStream('late')))).toBeDefined(); // nothing was written
    await h.client.appendToStream('late', ev('B'), { deadline: 10_000 });
    expect((await collect(h.client.readStream('late'))).map((e) => e.event!.type)).toEqual(['B']);
  });

  it('answers WrongExpectedVersion when soft-deleting a stream that never existed', async () => {
    const err = await rejection(h.client.deleteStream('never-was'));
    expect(err).toBeInstanceOf(WrongExpectedVersionError);
    await h.client.appendToStream('was', ev('A'));
    await h.client.deleteStream('was');
  });

  it("starts a fresh node's $all with system events, as EventStoreDB does", async () => {
    const all = await collect(h.client.readAll());
    expect(all.map((e) => `${e.event!.streamId}/${e.event!.type}`)).toEqual([
      '$$$scavenges/$metadata',
      '$$$user-admin/$metadata',
      '$user-admin/$User',
      '$users/$UserCreated',
      '$$$user-ops/$metadata',
      '$user-ops/$User',
      '$users/$UserCreated',
    ]);
    expect(all[2].event!.data).toEqual({ loginName: 'admin', fullName: 'Event Store Administrator', groups: ['$admins'], disabled: false });
  });
});

describe('cairn esdb', () => {
  it('needs TLS for a users file', () => {
    expect(() => parseEsdbArgs(['--users-file', 'u.json'])).toThrow(UsageError);
    expect(parseEsdbArgs(['--cert', 'c', '--key', 'k', '--users-file', 'u.json', '--memory'])).toMatchObject({ usersFile: 'u.json', tls: { certFile: 'c', keyFile: 'k' } });
  });

  it('says at start that it runs insecure without TLS', async () => {
    const entry = join(__dirname, 'run-from-source.js');
    const out = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      const child = execFile(process.execPath, [entry, '--memory', '--port', '0'], { timeout: 30_000 }, (err, stdout, stderr) =>
        err && !child.killed ? reject(err) : resolve({ stdout, stderr }),
      );
      child.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('esdb://')) child.kill('SIGTERM');
      });
    });
    expect(out.stdout).toMatch(/^esdb:\/\/127\.0\.0\.1:\d+\?tls=false/);
    expect(out.stderr).toMatch(/running INSECURE: no TLS, no authentication, no ACLs/);
  });
});
