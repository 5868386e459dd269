/**
 * POST /v1/events/import over HTTP against `cairn start` composed in-process (embedded node, SQLite
 * read models; one case on PostgreSQL): streamed NDJSON in and out, idempotent by id, per-line
 * errors with line, field and reason, resumable from a line, and an event-store failure mid-import
 * (a real one: the node the API talks to is stopped) ending the stream with the last acknowledged line.
 */
import { randomUUID } from 'crypto';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { loadConfig } from '@cairn/config';
import { startEmbeddedNode, type EmbeddedNode } from '@cairn/esdb-embedded';
import { composeCairn, type CairnProcess } from '../../../../cli/src/compose';
import { startCairn, type TestCairn } from '../../../../../test/support/cairn';
import { createPgDatabase, type PgDatabase } from '../../../../../test/support/faults';
import { MAX_IMPORT_LINE_BYTES } from './import-events.handler';

type Rec = Record<string, unknown>;
/** Small groups (CAIRN_IMPORT_GROUP_EVENTS) so a few thousand lines make several. */
const IMPORT_GROUP_LINES = 500;
const GROUP_ENV = { CAIRN_IMPORT_GROUP_EVENTS: String(IMPORT_GROUP_LINES) };

const view = (customerId: string, over: Rec = {}) => ({ id: randomUUID(), type: 'view', customerId, occurredAt: '2026-02-01T10:00:00Z', channel: 'web', productId: 'p1', ...over });
const purchase = (customerId: string, totalMinor = 1000) => ({
  id: randomUUID(),
  type: 'purchase',
  customerId,
  occurredAt: '2026-02-02T10:00:00Z',
  channel: 'web',
  orderId: `o-${randomUUID()}`,
  currency: 'USD',
  items: [{ productId: 'p1', quantity: 1, unitPriceMinor: totalMinor }],
  totalMinor,
});

const review = (customerId: string) => ({ id: randomUUID(), type: 'review', customerId, occurredAt: '2026-02-01T10:00:00Z', channel: 'web', productId: 'p1', rating: 5, body: 'y'.repeat(5000) });

/** Interleaved customers: line i belongs to customer i % customers. */
function history(prefix: string, n: number, customers: number): Rec[] {
  return Array.from({ length: n }, (_, i) => (i % 5 === 0 ? purchase(`${prefix}-${i % customers}`, 100 + i) : view(`${prefix}-${i % customers}`)));
}

const ndjson = (lines: (Rec | string)[]) => lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n';
const parse = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Rec);

/**
 * An import whose body sends the first group of `events`, then holds the rest until `sendRest()`:
 * `firstAck()` reads the answer up to the first acknowledgment, `rest()` to its end (all the text read).
 */
async function gatedImport(url: string, key: string, events: Rec[]) {
  let sendRest!: () => void;
  const restAllowed = new Promise<void>((r) => (sendRest = r));
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(new TextEncoder().encode(ndjson(events.slice(0, IMPORT_GROUP_LINES))));
      await restAllowed;
      controller.enqueue(new TextEncoder().encode(ndjson(events.slice(IMPORT_GROUP_LINES))));
      controller.close();
    },
  });
  const res = await fetch(`${url}/v1/events/import`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-ndjson' }, body, duplex: 'half' } as RequestInit);
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  let text = '';
  return {
    sendRest,
    firstAck: async () => {
      while (!text.includes('"acknowledged"')) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before an acknowledgment: ${text}`);
        text += new TextDecoder().decode(value);
      }
      return text;
    },
    rest: async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
        if (done) return text;
        text += new TextDecoder().decode(value);
      }
    },
  };
}

async function importText(url: string, key: string, body: string | ReadableStream<Uint8Array>, contentType = 'application/x-ndjson') {
  const res = await fetch(`${url}/v1/events/import`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': contentType },
    body,
    ...(typeof body === 'string' ? {} : { duplex: 'half' }),
  } as RequestInit);
  const text = await res.text();
  return { res, records: res.headers.get('content-type')?.startsWith('application/x-ndjson') ? parse(text) : [JSON.parse(text) as Rec] };
}

const summaryOf = (records: Rec[]) => (records.at(-1) as { summary?: Rec }).summary;

describe('POST /v1/events/import (SQLite)', () => {
  let cairn: TestCairn;
  let importKey: string;
  let ingestKey: string;
  /** The profile once the projections include `position` (a 409 under load means "not yet": asked again, up to 60 s). */
  const profile = async (customerId: string, position: string) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await fetch(`${cairn.url}/v1/customers/${customerId}?minPosition=${position}`, { headers: { authorization: `Bearer ${cairn.adminKey}` } });
      if (res.status === 200) return (await res.json()) as { views: number; orders: number; grossMinor: number };
      if (res.status !== 409 || Date.now() > deadline) throw new Error(`waiting for the profile of ${customerId} at position ${position}: ${res.status} ${await res.text()}`);
    }
  };
  const createKey = async (scopes: string[]) => {
    const res = await fetch(`${cairn.url}/v1/admin/keys`, { method: 'POST', headers: { authorization: `Bearer ${cairn.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: scopes.join('+'), scopes }) });
    expect(res.status).toBe(201);
    return ((await res.json()) as { key: string }).key;
  };

  beforeAll(async () => {
    cairn = await startCairn({ env: GROUP_ENV });
    importKey = await createKey(['import']);
    ingestKey = await createKey(['ingest']);
  });
  afterAll(async () => {
    await cairn?.close();
  });

  it('imports interleaved events in groups, acknowledging as it goes, and the projections see every one once; a re-send answers duplicate', async () => {
    const n = IMPORT_GROUP_LINES * 2 + 500;
    const events = history('h', n, 50);
    const { res, records } = await importText(cairn.url, importKey, ndjson(events));
    expect(res.status).toBe(200);
    const acks = records.filter((r) => 'acknowledged' in r).map((r) => r.acknowledged as number);
    expect(acks).toEqual([IMPORT_GROUP_LINES, IMPORT_GROUP_LINES * 2, n]);
    expect(records.filter((r) => r.status === 'rejected')).toEqual([]);
    const summary = summaryOf(records)!;
    expect(summary).toMatchObject({ lines: n, accepted: n, duplicates: 0, rejected: 0, acknowledged: n });
    const position = (summary.position as { commit: string }).commit;

    const c7 = events.filter((e) => e.customerId === 'h-7');
    const p = await profile('h-7', position);
    expect(p.views).toBe(c7.filter((e) => e.type === 'view').length);
    expect(p.orders).toBe(c7.filter((e) => e.type === 'purchase').length);

    const again = await importText(cairn.url, importKey, ndjson(events));
    expect(summaryOf(again.records)).toMatchObject({ lines: n, accepted: 0, duplicates: n, rejected: 0, acknowledged: n, position: null });
    // An id sent through POST /v1/events first is a duplicate for the import too (one ingest index).
    const single = view('h-single');
    const posted = await fetch(`${cairn.url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${ingestKey}`, 'content-type': 'application/json' }, body: JSON.stringify(single) });
    expect(posted.status).toBe(202);
    const mixed = await importText(cairn.url, importKey, ndjson([single, view('h-single')]));
    expect(summaryOf(mixed.records)).toMatchObject({ accepted: 1, duplicates: 1 });
    expect((await profile('h-7', position)).views).toBe(p.views);
  });

  it('reports a bad line with its number, field and reason and imports the others', async () => {
    const good = history('bad', 6, 2);
    const missingId = { ...view('bad-0') } as Rec;
    delete missingId.id;
    const deep = `${'{"a":'.repeat(40)}1${'}'.repeat(40)}`;
    const repeated = good[0];
    const lines: (Rec | string)[] = [
      good[0],
      { ...view('bad-1'), rating: 1 },
      missingId,
      '{"type": "view", "customerId": ',
      '',
      good[1],
      { ...purchase('bad-0'), totalMinor: 5 },
      deep,
      '[1, 2]',
      good[2],
      repeated,
      { ...view('bad-1'), id: 'not-a-uuid' },
      good[3],
    ];
    const { res, records } = await importText(cairn.url, importKey, ndjson(lines) + JSON.stringify(good[4]));
    expect(res.status).toBe(200);
    const rejected: Record<number, { field: string; message: string }[]> = Object.fromEntries(records.filter((r) => r.status === 'rejected').map((r) => [r.line, r.errors as { field: string; message: string }[]]));
    expect(Object.keys(rejected).map(Number)).toEqual([2, 3, 4, 7, 8, 9, 12]);
    expect(rejected[2]).toEqual([{ field: 'rating', message: expect.stringContaining('rating') }]);
    expect(rejected[3]).toEqual([{ field: 'id', message: expect.stringContaining('required for an import') }]);
    expect(rejected[4]).toEqual([{ field: '', message: expect.stringMatching(/^malformed JSON/) }]);
    expect(rejected[7].map((e) => e.field)).toContain('totalMinor');
    expect(rejected[8]).toEqual([{ field: '', message: expect.stringContaining('deeper than 32 levels') }]);
    expect(rejected[9]).toEqual([{ field: '', message: 'an event must be a JSON object' }]);
    expect(rejected[12].map((e) => e.field)).toEqual(['id']);
    // The blank line 5 is no event; line 11 repeats line 1's id; line 14 has no final newline.
    expect(summaryOf(records)).toMatchObject({ lines: 13, accepted: 5, duplicates: 1, rejected: 7, acknowledged: 14 });
  });

  it('rejects a line longer than the limit without buffering it, and goes on with the next line', async () => {
    const big = view('long-1', { context: { note: 'x'.repeat(MAX_IMPORT_LINE_BYTES + 10) } });
    const after = view('long-1');
    const { records } = await importText(cairn.url, importKey, ndjson([view('long-1'), big, after]));
    expect(records.filter((r) => r.status === 'rejected')).toEqual([
      { line: 2, status: 'rejected', errors: [{ field: '', message: expect.stringMatching(new RegExp(`the line has \\d+ bytes; the limit is ${MAX_IMPORT_LINE_BYTES} bytes`)) }] },
    ]);
    expect(summaryOf(records)).toMatchObject({ lines: 3, accepted: 2, rejected: 1 });
  });

  it('resumes from a line: lines already imported answer duplicate, the rest is appended', async () => {
    const events = history('resume', 3000, 30);
    const first = await importText(cairn.url, importKey, ndjson(events.slice(0, 1200)));
    expect(summaryOf(first.records)).toMatchObject({ accepted: 1200 });
    // A client that lost the answer after line 1000 was acknowledged sends from line 1001.
    const rest = await importText(cairn.url, importKey, ndjson(events.slice(1000)));
    const summary = summaryOf(rest.records)!;
    expect(summary).toMatchObject({ lines: 2000, accepted: 1800, duplicates: 200, rejected: 0 });
    const p = await profile('resume-3', (summary.position as { commit: string }).commit);
    expect(p.views + p.orders).toBe(events.filter((e) => e.customerId === 'resume-3').length);
  });

  it('splits a group before one stream would pass the append size limit', async () => {
    // 500 reviews of ~5 KB for one customer: 2.5 MB for a single stream, over the 1 MiB append limit.
    const reviews = Array.from({ length: 500 }, () => review('big-1'));
    const { records } = await importText(cairn.url, importKey, ndjson(reviews));
    expect(summaryOf(records)).toMatchObject({ accepted: 500, rejected: 0 });
    expect(records.filter((r) => 'acknowledged' in r).length).toBeGreaterThan(2);
  });

  it('reads the body as a stream: acknowledgments arrive while the client is still sending', async () => {
    const events = history('stream', IMPORT_GROUP_LINES * 2, 20);
    const gated = await gatedImport(cairn.url, importKey, events);
    // The first group's acknowledgment comes before the second half of the body is even sent.
    expect(parse(await gated.firstAck()).find((r) => 'acknowledged' in r)).toMatchObject({ acknowledged: IMPORT_GROUP_LINES, accepted: IMPORT_GROUP_LINES });
    gated.sendRest();
    expect(summaryOf(parse(await gated.rest()))).toMatchObject({ accepted: IMPORT_GROUP_LINES * 2 });
  });

  it('needs the import scope (or admin), NDJSON, and no JSON body parser or body size limit applies', async () => {
    const line = ndjson([view('scope-1')]);
    expect((await importText(cairn.url, ingestKey, line)).res.status).toBe(403);
    const json = await importText(cairn.url, importKey, JSON.stringify(view('scope-1')), 'application/json');
    expect(json.res.status).toBe(400);
    expect(json.records[0]).toMatchObject({ error: { code: 'CAIRN.VALIDATION', fields: [{ field: 'content-type' }] } });
    // 3 MB in all, far over the 1 MiB JSON body limit: every line is imported.
    const many = Array.from({ length: 600 }, (_, i) => review(`scope-${i % 10}`));
    const { res, records } = await importText(cairn.url, cairn.adminKey, ndjson(many));
    expect(res.status).toBe(200);
    expect(summaryOf(records)).toMatchObject({ accepted: 600 });
    // A browser origin gets no CORS headers on the import route (the ingest route's policy is for SDKs).
    const pre = await fetch(`${cairn.url}/v1/events/import`, { method: 'OPTIONS', headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST' } });
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('POST /v1/events/import when the event store fails mid-import', () => {
  let dir: string;
  let node: EmbeddedNode;
  let cairn: CairnProcess;
  const key = `test_${randomUUID().replace(/-/g, '')}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cairn-import-fault-'));
    node = await startEmbeddedNode({ dataDir: join(dir, 'esdb'), port: 0 });
    const config = loadConfig({ CAIRN_LOG_LEVEL: 'silent', ...GROUP_ENV }, { port: 0, dataDir: join(dir, 'cairn'), adminKey: key, eventStore: node.connectionString });
    config.host = '127.0.0.1';
    cairn = await composeCairn(config, { api: true, projector: true });
  });
  afterAll(async () => {
    await cairn?.close();
    await node?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('ends the stream with CAIRN.UNAVAILABLE naming the last acknowledged line; resending from the next line completes the import', async () => {
    const events = history('fault', IMPORT_GROUP_LINES * 2, 40);
    const gated = await gatedImport(cairn.url!, key, events);
    await gated.firstAck();
    // The node goes away after the first group was acknowledged: the second group cannot be appended.
    const port = node.port;
    await node.close();
    gated.sendRest();
    const records = parse(await gated.rest());
    const last = records.at(-1) as { error: Rec };
    expect(last.error).toMatchObject({ code: 'CAIRN.UNAVAILABLE', component: 'eventStore', status: 503, acknowledged: IMPORT_GROUP_LINES, resumeFromLine: IMPORT_GROUP_LINES + 1, accepted: IMPORT_GROUP_LINES });
    expect(String(last.error.message)).not.toMatch(/grpc|UNAVAILABLE:|ECONNREFUSED/i);

    // The node is back on the same port: the client resends from the line after the acknowledged one.
    node = await startEmbeddedNode({ dataDir: join(dir, 'esdb'), port });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const again = await importText(cairn.url!, key, ndjson(events.slice(IMPORT_GROUP_LINES)));
      const summary = summaryOf(again.records);
      if (summary) {
        expect(summary).toMatchObject({ accepted: IMPORT_GROUP_LINES, duplicates: 0, rejected: 0 });
        break;
      }
      // The client may not have reconnected yet: the answer is again UNAVAILABLE, retried until the deadline.
      expect(again.res.status === 503 || (again.records.at(-1) as { error?: Rec }).error?.code === 'CAIRN.UNAVAILABLE').toBe(true);
      if (Date.now() > deadline) throw new Error('the import did not succeed within 30 s of the node coming back');
      await new Promise((r) => setTimeout(r, 200));
    }
  });
});

describe('POST /v1/events/import (PostgreSQL read store)', () => {
  let db: PgDatabase;
  let cairn: TestCairn;
  beforeAll(async () => {
    db = await createPgDatabase('h_import');
    cairn = await startCairn({ readModel: db.url, env: GROUP_ENV });
  });
  afterAll(async () => {
    await cairn?.close();
    await db?.drop();
  });

  it('imports, answers duplicate on a re-send and reports bad lines', async () => {
    const events = history('pg', IMPORT_GROUP_LINES + 10, 25);
    const lines: (Rec | string)[] = [...events, { ...view('pg-1'), channel: 'fax' }];
    const first = await importText(cairn.url, cairn.adminKey, ndjson(lines));
    expect(first.records.filter((r) => r.status === 'rejected')).toEqual([{ line: events.length + 1, status: 'rejected', id: expect.any(String), errors: [{ field: 'channel', message: expect.any(String) }] }]);
    expect(summaryOf(first.records)).toMatchObject({ accepted: events.length, rejected: 1 });
    const again = await importText(cairn.url, cairn.adminKey, ndjson(lines));
    expect(summaryOf(again.records)).toMatchObject({ accepted: 0, duplicates: events.length, rejected: 1 });
  });
});
