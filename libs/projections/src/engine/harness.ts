/**
 * For specs: one projection's fold state applied to given events in one read-store transaction,
 * without the engine's checkpoints or position filter, so a spec can feed any arrival order and
 * any batch split (the engine itself always folds in log order). A failed transaction drops the
 * state, exactly as the engine does.
 */
import type { ReadStore } from '@cairn/read-models';
import type { FoldState, LogEvent, Projection } from '../projection';
import { Changes, writeFlush } from './rows';

export class ProjectionHarness {
  private state: FoldState;

  constructor(
    private readonly store: ReadStore,
    readonly projection: Projection,
  ) {
    this.state = projection.createState();
  }

  /** Folds `events` and writes the rows in one transaction; `crash` rolls it back after the writes. */
  async apply(events: readonly LogEvent[], opts: { crash?: boolean } = {}): Promise<void> {
    const changes = new Changes(new Map(this.projection.tables.map((t) => [t.table, t])));
    try {
      await this.projection.setup?.(this.store.db);
      await this.state.prepare?.(events, this.store.db);
      for (const e of events) this.state.apply(e, changes);
      await this.store.transaction(async (trx) => {
        await writeFlush(this.state, changes, trx, this.store.kind);
        if (opts.crash) throw new Error('crash (simulated)');
      });
      this.state.committed?.();
    } catch (err) {
      this.restart();
      if (!opts.crash) throw err;
    }
  }

  /** A new process: fresh, empty state (loaded back from the store as needed). */
  restart(): void {
    this.state = this.projection.createState();
  }
}
