/**
 * Profiles v2, with identity: each source (a customer's or a visitor's stream) folded with the pure
 * `foldProfileCore`; people resolved from the identity graph (links from events carrying both ids,
 * admin merges and unmerges, in log order); each person's profile the combination of its sources'.
 *
 * Kept in memory between batches: the whole identity graph, and each source's folded core under
 * the engine's memory budget (evicted cores are read back from the store when a source shows up
 * again). Written per flush, once per touched row: a person's profile (`profiles`, whose `doc` is
 * also the source's own document when the person is that one source), a source's row in
 * `identity_sources` when its person changes or its document lives there (several sources, or a
 * visitor without a customer), new links, merges in force, and for the read path a customer's row in
 * `customer_lookup` when its person changes (pointing at the person's profiles row, which also holds
 * the served view and the person's identity, so GET /v1/customers/:id is one indexed read).
 */
import type { Kysely } from 'kysely';
import {
  DEFAULT_SHARED_DEVICE_LIMIT,
  IDENTITY_MERGED,
  IDENTITY_UNMERGED,
  combineProfiles,
  customerSource,
  deriveProfile,
  foldProfileCore,
  parseSource,
  profileCore,
  resolveIdentities,
  streamFor,
  visitorSource,
  type Profile,
  type ProfileCore,
  type ProfileRules,
} from '@cairn/domain';
import { PROFILE_COLUMNS, profileToRow, publicProfile, type ReadModelSchema } from '@cairn/read-models';
import { IdentityGraph } from './identity/identity-graph';
import { isIngestEvent, type FoldState, type LogEvent, type Projection, type Row, type RowSink } from './projection';
import { randomUUID } from 'crypto';

export interface IdentityRules extends ProfileRules {
  /** An anonymous id linked to more customers than this is a shared device (default 3). */
  readonly sharedDeviceLimit?: number;
}

export function profileProjection(rules: IdentityRules): Projection {
  return {
    name: 'profiles',
    // 2: identity events come from the log in order (no separate admin-log read), and a single-source
    // person's document lives in its profiles row only (identity_sources.doc is null then).
    // 3: identity resolved at write time for the read path: `customer_lookup` maps every customer id
    // to its person's profiles row, which holds the served view and the person's identity.
    version: 3,
    tables: [
      { table: 'profiles', key: ['customer_id'], columns: [...PROFILE_COLUMNS, 'first_order_at', 'view', 'identity'], mode: 'upsert' },
      { table: 'customer_lookup', key: ['customer_id'], columns: ['customer_id', 'person_id'], mode: 'upsert' },
      { table: 'identity_sources', key: ['source_id'], columns: ['source_id', 'person_id', 'doc'], mode: 'upsert' },
      { table: 'identity_links', key: ['anonymous_id', 'customer_id'], columns: ['anonymous_id', 'customer_id'], mode: 'insert' },
      { table: 'identity_merges', key: ['merge_id'], columns: ['merge_id', 'survivor_id', 'merged_id', 'requested_at'], mode: 'upsert' },
      { table: 'segment_dirty', key: ['customer_id'], columns: ['customer_id', 'token'], mode: 'upsert' },
    ],
    createState: () => new ProfileState(rules),
  };
}

const IN_CHUNK = 500;
/** Persons whose rows a flush puts before the engine writes them. */
const FLUSH_PORTION = 1000;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += IN_CHUNK) out.push(items.slice(i, i + IN_CHUNK));
  return out;
}

/**
 * Rough bytes of a core in memory (V8 objects and strings, measured: ~4.1 kB for a customer with
 * 10 mixed events), for the budget.
 */
function weigh(c: ProfileCore): number {
  let consent = 0;
  for (const k of Object.keys(c.state.consent ?? {})) consent += 1 + (c.state.consent[k]?.length ?? 0);
  return 1200 + 450 * Object.keys(c.state.orders).length + 160 * c.state.activity.length + 120 * Object.keys(c.state.categoryViews).length + 250 * consent;
}

const SAFE = Number.isSafeInteger;

/** Why folding `event` into `c` would take a total out of the safe integer range, or null (checked before the fold, which works in place). */
function unsafeAfter(c: ProfileCore, event: LogEvent): string | null {
  switch (event.type) {
    case 'cairn.purchase.v1': {
      const d = event.data as { orderId: string; currency: string; totalMinor: number };
      if (!SAFE(d.totalMinor)) return 'the order total is not a safe integer';
      let sum = d.totalMinor;
      for (const o of Object.values(c.state.orders)) if (o.currency === d.currency && o.orderId !== d.orderId) sum += o.totalMinor;
      return SAFE(sum) ? null : `order totals in ${d.currency} would exceed the safe integer range`;
    }
    case 'cairn.return.v1': {
      const d = event.data as { currency: string; refundMinor: number };
      if (!SAFE(d.refundMinor)) return 'the refund is not a safe integer';
      const refunds = Object.prototype.hasOwnProperty.call(c.state.refunds, d.currency) ? c.state.refunds[d.currency]! : 0;
      return SAFE(refunds + d.refundMinor) ? null : `refunds in ${d.currency} would exceed the safe integer range`;
    }
    case 'cairn.review.v1': {
      const d = event.data as { rating: number };
      return Number.isFinite(d.rating) && Number.isFinite(c.state.ratingSum + d.rating) ? null : 'the rating is not a finite number';
    }
    default:
      return SAFE(c.views + 1) ? null : 'counters would exceed the safe integer range';
  }
}

/** The same check for a source's first event. */
function unsafeAlone(event: LogEvent): string | null {
  return unsafeAfter({ views: 0, state: { orders: {}, refunds: {}, ratingSum: 0 } } as unknown as ProfileCore, event);
}

class ProfileState implements FoldState {
  private graph: IdentityGraph | null = null;
  /** Folded cores by source, most recently used last. */
  private readonly cores = new Map<string, ProfileCore>();
  private bytes = 0;
  /** Sources folded since the last flush. */
  private readonly dirty = new Set<string>();
  /** Sources whose component changed (links, merges, new sources) since the last flush. */
  private readonly seeds = new Set<string>();
  private segmentsExist = false;
  private readonly limit: number;

  constructor(private readonly rules: IdentityRules) {
    this.limit = rules.sharedDeviceLimit ?? DEFAULT_SHARED_DEVICE_LIMIT;
  }

  async prepare(events: readonly LogEvent[], db: Kysely<ReadModelSchema>): Promise<void> {
    this.graph ??= await IdentityGraph.load(db);
    const g = this.graph;
    const any = await db.selectFrom('segments').select('segment_id').where('deleted', '=', 0).limit(1).executeTakeFirst();
    this.segmentsExist = any !== undefined;
    // Every source whose core the batch (and the persons it touches) needs.
    const touched = new Set<string>();
    for (const e of events) {
      if (isIngestEvent(e)) {
        const { customerId, anonymousId } = e.data;
        if (customerId !== undefined) touched.add(customerSource(customerId));
        if (anonymousId !== undefined) touched.add(visitorSource(anonymousId));
      } else if (e.type === IDENTITY_MERGED) {
        const d = e.data as { survivorId: string; mergedId: string };
        touched.add(customerSource(d.survivorId)).add(customerSource(d.mergedId));
      } else if (e.type === IDENTITY_UNMERGED) {
        const m = g.merges.get(e.data.mergeId);
        if (m) touched.add(customerSource(m.survivorId)).add(customerSource(m.mergedId));
      }
    }
    const needed = [...g.component(touched).nodes].filter((s) => !this.cores.has(s));
    if (needed.length > 0) await this.loadCores(db, needed);
  }

  private async loadCores(db: Kysely<ReadModelSchema>, sources: readonly string[]): Promise<void> {
    const g = this.graph!;
    const inline = sources.filter((s) => g.inline.has(s));
    // A source without a document of its own is its person's only source: its document is the profile's.
    // Customers the graph does not know may have a profile from before identity (profiles v1): seed from it.
    const viaProfile = sources.filter((s) => !g.inline.has(s) && s.startsWith('customer-'));
    for (const part of chunks(inline)) {
      for (const r of await db.selectFrom('identity_sources').select(['source_id', 'doc']).where('source_id', 'in', part).execute()) {
        if (r.doc !== null) this.keep(r.source_id, profileCore(JSON.parse(r.doc) as Profile));
      }
    }
    for (const part of chunks(viaProfile)) {
      const ids = part.map((s) => parseSource(s).id);
      for (const r of await db.selectFrom('profiles').select(['customer_id', 'doc']).where('customer_id', 'in', ids).execute()) {
        const source = customerSource(r.customer_id);
        const person = g.personOf.get(source);
        // A profiles row that is a person's (several sources, or other sources' person) is not this
        // source's own document; only a customer the graph does not know has a legacy one.
        if (person !== undefined ? person !== source : g.isPerson(source)) continue;
        this.keep(source, profileCore(JSON.parse(r.doc) as Profile));
        if (person === undefined) this.seeds.add(source);
      }
    }
  }

  private keep(source: string, core: ProfileCore): void {
    const old = this.cores.get(source);
    if (old !== undefined) {
      this.bytes -= weigh(old);
      this.cores.delete(source);
    }
    this.cores.set(source, core);
    this.bytes += weigh(core);
  }

  apply(event: LogEvent, out: RowSink): void {
    const g = this.graph;
    if (g === null) throw new Error('profile state used before prepare');
    if (!isIngestEvent(event)) {
      if (event.type === IDENTITY_MERGED) {
        const d = event.data as { mergeId: string; survivorId: string; mergedId: string; requestedAt: string };
        if (g.merges.has(d.mergeId)) return;
        g.merge({ mergeId: d.mergeId, survivorId: d.survivorId, mergedId: d.mergedId });
        out.put('identity_merges', { merge_id: d.mergeId, survivor_id: d.survivorId, merged_id: d.mergedId, requested_at: d.requestedAt });
        this.seeds.add(customerSource(d.survivorId)).add(customerSource(d.mergedId));
      } else if (event.type === IDENTITY_UNMERGED) {
        const m = g.unmerge(event.data.mergeId);
        if (!m) return;
        out.delete('identity_merges', { merge_id: m.mergeId });
        this.seeds.add(customerSource(m.survivorId)).add(customerSource(m.mergedId));
      }
      return;
    }
    // Everything that can throw comes before the first change to the state.
    const source = streamFor(event.data);
    const key = source.startsWith('customer-') ? parseSource(source).id : source;
    // An id that is not a non-empty string (a null from a log written before the ingest contract) is absent.
    const id = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
    const customerId = id(event.data.customerId);
    const anonymousId = id(event.data.anonymousId);
    const link = customerId !== undefined && anonymousId !== undefined && !g.hasLink(anonymousId, customerId);
    const current = this.cores.get(source);
    const unsafe = current === undefined ? unsafeAlone(event) : unsafeAfter(current, event);
    if (unsafe !== null) throw new Error(`${source}: ${unsafe}`);
    const core = foldProfileCore(current, key, event, this.rules);
    if (link) out.put('identity_links', { anonymous_id: anonymousId, customer_id: customerId });
    this.keep(source, core);
    this.dirty.add(source);
    if (!g.personOf.has(source)) this.seeds.add(source);
    if (link) {
      g.link(anonymousId!, customerId!);
      this.seeds.add(customerSource(customerId!)).add(visitorSource(anonymousId!));
    }
  }

  *flush(out: RowSink): Generator<void> {
    const g = this.graph;
    if (g === null) return;
    const persons = new Set<string>();
    const removed = new Set<string>();
    const moved = new Set<string>();
    // 1. Re-resolve the components whose edges or sources changed.
    if (this.seeds.size > 0) {
      const comp = g.component(this.seeds);
      const nodes = [...comp.nodes].filter((s) => g.personOf.has(s) || this.cores.has(s));
      const resolution = resolveIdentities(nodes, comp.links, comp.merges, this.limit);
      const before = new Set<string>();
      for (const s of comp.nodes) {
        const old = g.personOf.get(s);
        if (old !== undefined) before.add(old);
        const next = resolution.personBySource.get(s);
        // A node without events of its own (a visitor only named by a link) gets no row until it has some.
        if (next === undefined || (old === undefined && !this.cores.has(s))) continue;
        if (old !== next) {
          g.assign(s, next);
          moved.add(s);
        }
        persons.add(next);
      }
      for (const p of before) if (!persons.has(p)) removed.add(p);
    }
    for (const s of this.dirty) persons.add(g.personOf.get(s) ?? s);
    // 2. Each touched person's profile, and the source rows that changed.
    const scope = g.component([...persons, ...this.dirty, ...moved]).nodes;
    const membersByPerson = new Map<string, string[]>();
    for (const s of scope) {
      const p = g.personOf.get(s);
      if (p === undefined || !persons.has(p)) continue;
      const list = membersByPerson.get(p);
      if (list) list.push(s);
      else membersByPerson.set(p, [s]);
    }
    let written = 0;
    for (const [person, members] of membersByPerson) {
      // A portion at a time: a bulk build's flush touches every person, and their rows (three JSON
      // documents each) would otherwise all be held at once.
      if (++written % FLUSH_PORTION === 0) yield;
      const single = members.length === 1 && members[0] === person && person.startsWith('customer-');
      const parts: Profile[] = [];
      for (const s of members) {
        const core = this.cores.get(s);
        if (core === undefined) continue;
        const own = deriveProfile(core);
        // The derived core is pruned (activity beyond the horizon): keep that instead of the growing one.
        if (this.dirty.has(s)) this.keep(s, profileCore(own));
        parts.push(own);
        const inline = !single;
        const docChanged = inline && (this.dirty.has(s) || !g.inline.has(s));
        // Every customer id answers with its person's row: the pointer moves with the source.
        if (moved.has(s) && s.startsWith('customer-')) out.put('customer_lookup', { customer_id: parseSource(s).id, person_id: parseSource(person).id });
        if (moved.has(s) || docChanged || (!inline && g.inline.has(s))) {
          out.put('identity_sources', { source_id: s, person_id: person, doc: inline ? JSON.stringify(own) : null });
          if (inline) g.inline.add(s);
          else g.inline.delete(s);
        }
      }
      if (!person.startsWith('customer-') || parts.length === 0) continue;
      const customerId = parseSource(person).id;
      const hasCustomer = members.some((s) => s.startsWith('customer-'));
      if (!hasCustomer) continue;
      const profile = combineProfiles(parts, customerId);
      out.put('profiles', {
        ...profileToRow(profile),
        first_order_at: profile.firstOrder?.occurredAt ?? null,
        view: JSON.stringify(publicProfile(profile)),
        identity: JSON.stringify(g.identity(person, members, this.limit)),
      } as unknown as Row);
      if (this.segmentsExist) out.put('segment_dirty', { customer_id: customerId, token: randomUUID() });
    }
    for (const p of removed) {
      if (!p.startsWith('customer-')) continue;
      const id = parseSource(p).id;
      out.delete('profiles', { customer_id: id });
      if (this.segmentsExist) out.put('segment_dirty', { customer_id: id, token: randomUUID() });
    }
  }

  committed(): void {
    this.dirty.clear();
    this.seeds.clear();
  }

  memory(): number {
    return this.bytes;
  }

  /** Drops the least recently used half of the cores (all written: evict runs after a flush). */
  evict(): void {
    const target = this.bytes / 2;
    for (const [s, core] of this.cores) {
      if (this.bytes <= target) break;
      if (this.dirty.has(s)) continue;
      this.cores.delete(s);
      this.bytes -= weigh(core);
    }
  }
}
