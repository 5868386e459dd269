/**
 * An in-process Cairn for e2e specs: the embedded event store, the read store, the projector and
 * the HTTP API, exactly as `cairn start` composes them, on ephemeral ports.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { randomBytes } from 'crypto';
import { loadConfig } from '@cairn/config';
import { composeCairn, type CairnProcess } from '../../apps/cli/src/compose';

export interface TestCairn {
  readonly url: string;
  /** Admin key: every scope. */
  readonly adminKey: string;
  readonly dataDir: string;
  readonly process: CairnProcess;
  close(): Promise<void>;
}

export async function startCairn(opts: { dataDir?: string; readModel?: string; env?: Record<string, string>; projectorThread?: boolean } = {}): Promise<TestCairn> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'cairn-e2e-'));
  const adminKey = `test_${randomBytes(16).toString('hex')}`;
  const config = loadConfig(
    { CAIRN_LOG_LEVEL: 'warn', CAIRN_READ_WAIT_MS: '60000', ...opts.env },
    { port: 0, esdbPort: 0, dataDir, adminKey, ...(opts.readModel ? { readModel: opts.readModel } : {}) },
  );
  config.host = '127.0.0.1';
  const proc = await composeCairn(config, { api: true, projector: true, projectorThread: opts.projectorThread ?? false });
  return {
    url: proc.url!,
    adminKey,
    dataDir,
    process: proc,
    close: async () => {
      await proc.close();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
