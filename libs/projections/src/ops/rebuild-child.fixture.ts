/**
 * Child process of rebuild-sigkill.int.spec.ts: runs a rebuild of the test projection slowly,
 * writing the shadow every 100 events, and prints `done <n>` after each committed shadow write,
 * until the spec SIGKILLs it.
 * argv: <connection string> <live read-store url>
 */
import { CairnEventStore } from '@cairn/event-store';
import { openReadStore } from '@cairn/read-models';
import { RebuildJob } from './rebuild';
import { countingProjection } from './test-support';

async function main(): Promise<void> {
  const [connectionString, url] = process.argv.slice(3);
  const events = CairnEventStore.connect(connectionString);
  const store = await openReadStore(url);
  const job = await RebuildJob.start({ events, live: { store, url } }, [countingProjection({ version: 2 })], {
    batchSize: 100,
    flushEvery: 100,
    afterBatch: async (s) => {
      process.stdout.write(`done ${s.done}\n`);
      await new Promise((r) => setTimeout(r, 20));
    },
  });
  const status = await job.done;
  process.stdout.write(`finished ${status.phase}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
