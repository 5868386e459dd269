import type { StorageLike, WireEvent } from './types';

/** One queued event as persisted: the event and its failed attempts so far. */
export interface PersistedItem {
  readonly e: WireEvent;
  readonly a: number;
}

export interface TabStoreOptions {
  readonly leaseMs: number;
  readonly claimSettleMs: number;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

/**
 * Per-tab persisted queues with a lease, so a tab can take over a dead tab's queue without two tabs
 * both taking it. Keys (P = prefix):
 *   P:q:<tab>      the tab's queue (queued + in-flight events), JSON
 *   P:hb:<tab>     the tab's lease expiry (ms since epoch); refreshed by its heartbeat
 *   P:claim:<tab>  {tab, at}: who is taking over <tab>'s queue
 * Takeover of tab T by tab M: T's lease has expired; M writes P:claim:T unless a live claim by
 * another tab exists, waits claimSettleMs, and proceeds only if the claim still names M (last
 * writer wins, everyone else backs off) and T's lease is still expired. M then appends T's events
 * to its own queue and saves it BEFORE deleting P:q:T, P:hb:T and the claim: a crash in between
 * leaves an event in two queues (re-sent, the server answers `duplicate`), never in none.
 */
export class TabStore {
  private heartbeatWritten = false;

  constructor(
    private readonly storage: StorageLike,
    private readonly prefix: string,
    readonly tabId: string,
    private readonly opts: TabStoreOptions,
  ) {}

  private qKey(tab: string): string {
    return `${this.prefix}:q:${tab}`;
  }
  private hbKey(tab: string): string {
    return `${this.prefix}:hb:${tab}`;
  }
  private claimKey(tab: string): string {
    return `${this.prefix}:claim:${tab}`;
  }

  /** Extends this tab's lease until `expiresAt`. */
  heartbeat(expiresAt: number): void {
    this.storage.setItem(this.hbKey(this.tabId), String(expiresAt));
    this.heartbeatWritten = true;
  }

  /** True when another tab has taken this tab's queue over (its lease key was removed). */
  wasTakenOver(): boolean {
    return this.heartbeatWritten && this.storage.getItem(this.hbKey(this.tabId)) === null;
  }

  save(items: readonly PersistedItem[]): void {
    if (items.length === 0) this.storage.removeItem(this.qKey(this.tabId));
    else this.storage.setItem(this.qKey(this.tabId), JSON.stringify(items));
  }

  /** Removes this tab's keys (clean shutdown with an empty queue). */
  clear(): void {
    this.storage.removeItem(this.qKey(this.tabId));
    this.storage.removeItem(this.hbKey(this.tabId));
  }

  private keys(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.storage.length; i++) {
      const k = this.storage.key(i);
      if (k !== null) out.push(k);
    }
    return out;
  }

  private leaseExpired(tab: string): boolean {
    const raw = this.storage.getItem(this.hbKey(tab));
    const expiresAt = raw === null ? 0 : Number(raw);
    return !(expiresAt > this.opts.now());
  }

  /** Tabs whose queue is persisted and whose lease has expired. */
  deadTabs(): string[] {
    const qPrefix = `${this.prefix}:q:`;
    return this.keys()
      .filter((k) => k.startsWith(qPrefix))
      .map((k) => k.slice(qPrefix.length))
      .filter((tab) => tab !== this.tabId && this.leaseExpired(tab));
  }

  private readClaim(tab: string): { tab: string; at: number } | null {
    try {
      const raw = this.storage.getItem(this.claimKey(tab));
      return raw === null ? null : (JSON.parse(raw) as { tab: string; at: number });
    } catch {
      return null;
    }
  }

  /**
   * Tries to take over `tab`'s queue. `accept` receives the events and must synchronously add them
   * to this tab's queue and persist it (or return false to leave them, e.g. no room).
   * Returns the number of events taken over.
   */
  async takeOver(tab: string, accept: (items: PersistedItem[]) => boolean): Promise<number> {
    const existing = this.readClaim(tab);
    if (existing && existing.tab !== this.tabId && existing.at + this.opts.leaseMs > this.opts.now()) return 0;
    this.storage.setItem(this.claimKey(tab), JSON.stringify({ tab: this.tabId, at: this.opts.now() }));
    await this.opts.sleep(this.opts.claimSettleMs);
    if (this.readClaim(tab)?.tab !== this.tabId) return 0;
    if (!this.leaseExpired(tab)) {
      this.storage.removeItem(this.claimKey(tab));
      return 0;
    }
    let items: PersistedItem[] = [];
    try {
      const raw = this.storage.getItem(this.qKey(tab));
      items = raw === null ? [] : (JSON.parse(raw) as PersistedItem[]);
      if (!Array.isArray(items)) items = [];
    } catch {
      items = []; // unreadable: nothing can be recovered from it
    }
    if (items.length > 0 && !accept(items)) {
      this.storage.removeItem(this.claimKey(tab));
      return 0;
    }
    this.storage.removeItem(this.qKey(tab));
    this.storage.removeItem(this.hbKey(tab));
    this.storage.removeItem(this.claimKey(tab));
    return items.length;
  }
}
