/**
 * A webhook receiver for specs, in the test process on loopback: verifies every request's
 * signature with the `standardwebhooks` package and answers what the spec's `respond` says.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'http';
import type { AddressInfo } from 'net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  readonly path: string;
  readonly id: string;
  readonly at: number;
  readonly verified: boolean;
  readonly body: { type: string; timestamp: string; data: { customerId: string; segmentId: string } };
  readonly answered: number;
}

export interface Receiver {
  readonly url: string;
  readonly requests: Received[];
  /** Secrets by path, set once the endpoint is registered (a request before that fails verification). */
  readonly secrets: Map<string, string>;
  respond: (path: string, id: string, attemptOfId: number) => { status: number; headers?: Record<string, string> } | 'hang';
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const requests: Received[] = [];
  const secrets = new Map<string, string>();
  const hanging = new Set<import('http').ServerResponse>();
  const receiver: Receiver = {
    url: '',
    requests,
    secrets,
    respond: () => ({ status: 200 }),
    close: async () => {
      for (const res of hanging) res.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('utf8')));
    req.on('end', () => {
      const path = req.url ?? '/';
      const id = String(req.headers['webhook-id']);
      let verified = false;
      try {
        new Webhook(secrets.get(path) ?? 'whsec_bm9uZQ==').verify(body, req.headers as IncomingHttpHeaders as Record<string, string>);
        verified = true;
      } catch {
        verified = false;
      }
      const attemptOfId = requests.filter((r) => r.id === id && r.path === path).length + 1;
      const answer = receiver.respond(path, id, attemptOfId);
      requests.push({ path, id, at: Date.now(), verified, body: JSON.parse(body) as Received['body'], answered: answer === 'hang' ? 0 : answer.status });
      if (answer === 'hang') {
        hanging.add(res);
        return;
      }
      res.writeHead(answer.status, answer.headers ?? {});
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  (receiver as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}

/** Waits for `ok` with a generous deadline; throws naming what it waited for. */
export async function waitFor<T>(what: string, fn: () => Promise<T> | T, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}: last ${JSON.stringify(v)?.slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
