/**
 * Replays for analysts: projections run over history into a scratch SQLite store in memory, never
 * touching the live read models. The shared fold core (`engine/folder.ts`) folds in memory and
 * writes each scratch store once at the end (and whenever the memory budget is reached); a what-if
 * builds both stores from ONE read of the log.
 *
 * - bi-temporal: `asOf` keeps events whose business time (`occurredAt`) is at or before it;
 *   `knownAt` keeps events recorded by then (`metadata.receivedAt`, the instant Cairn accepted
 *   them), so late events and corrections that arrived afterwards are left out;
 * - what-if: with `rules`. Rules of the folds (`currency`, `timezone`, `sharedDeviceLimit`) build
 *   the projections twice, under the live rules (baseline) and under the live rules with those
 *   merged over them, and every read model is diffed by primary key. Rules of the areas that apply
 *   theirs on read (`loyalty`, `segments`, `rfm`, `lifecycle`: what-if.ts) are compared over the
 *   one read model, each in its own terms. A projection that exposes `replaySummary` /
 *   `replayDiff` adds its own area summary;
 * - output: each read model as CSV and JSON, plus `summary.json`. Nothing in it depends on the
 *   wall clock, so the same events, projection versions, instant and rules give byte-identical files.
 */
import type { Kysely } from 'kysely';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import type { CairnEventStore } from '@cairn/event-store';
import { openReadStore, type ReadModelSchema, type ReadStore } from '@cairn/read-models';
import { isIngestEvent, type LogEvent, type Projection } from '../projection';
import { Progress, headPosition, readHistory } from './history';
import { errorMessage } from './parked';
import { diffRows, dumpTable, stableJson, tableShape, toCsv, type TableDiff } from './tables';
import { Folder } from '../engine/folder';
import { secondaryIndexes } from './rebuild';
import { IdentityAsOf, type WhatIfArea, type WhatIfContext } from './what-if';

/** What a replay hook is told: the instants and the rules each scratch store was built under. */
export interface ReplayHookContext {
  /** ISO UTC, or null when not limited. */
  readonly asOf: string | null;
  readonly knownAt: string | null;
  /** The live rules (baseline). */
  readonly rules: unknown;
  /** With what-if: the merged rules; else null. */
  readonly whatIfRules: unknown;
}

/**
 * Optional hooks a projection may expose for replays (duck-typed: `Projection` itself is unchanged).
 * Areas whose read model is rule-free (facts) and apply their rules on read use the rules passed
 * here to compute their summary under each.
 */
export interface ReplayAware {
  /** An area summary of the baseline read model (e.g. customers per tier, points liability). */
  replaySummary?(db: Kysely<ReadModelSchema>, context: ReplayHookContext): Promise<unknown>;
  /** What changed from baseline to what-if in the area's terms (promoted/demoted per tier with lists, liability change, segment entries/exits). */
  replayDiff?(baseline: Kysely<ReadModelSchema>, whatIf: Kysely<ReadModelSchema>, context: ReplayHookContext): Promise<unknown>;
}

export interface ReplayRequest {
  /** Projection names; empty = all. */
  readonly projections: readonly string[];
  /** Business-time instant (ISO 8601 with offset). */
  readonly asOf?: string;
  /** Recorded-time instant (ISO 8601 with offset). */
  readonly knownAt?: string;
  /** Rule overrides merged over the live rules (what-if). */
  readonly rules?: Record<string, unknown>;
}

export interface ReplayProgress {
  readonly phase: 'reading' | 'writing' | 'done';
  readonly done: number;
  readonly total: number;
  readonly rate: number;
  readonly etaSeconds: number | null;
}

export interface ReplayResult {
  /** Relative path → content; write them under the output directory as they are. */
  readonly files: ReadonlyMap<string, string>;
  readonly summary: ReplaySummary;
}

export interface ReplaySummary {
  readonly projections: { name: string; version: number }[];
  readonly asOf: string | null;
  readonly knownAt: string | null;
  readonly rules: { live: unknown; whatIf: unknown; areas?: Record<string, unknown> } | null;
  readonly events: { read: number; included: number; afterAsOf: number; unknownAtKnownAt: number };
  /** Events a projection could not fold (poison): parked in the scratch store, left out of its read model. */
  readonly parked: { projection: string; id: string; position: string; type: string; error: string }[];
  readonly tables: Record<string, { rows: number; files: string[] }>;
  readonly areas: Record<string, unknown>;
  readonly whatIf: { tables: Record<string, Omit<TableDiff, 'addedKeys' | 'removedKeys' | 'changedRows'>>; areas: Record<string, unknown> } | null;
}

const BATCH = 5000;

function instant(name: string, value: string | undefined): number | null {
  if (value === undefined) return null;
  const ms = Date.parse(value);
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(ms)) {
    throw new CairnError(ERROR_CODES.VALIDATION, `${name} must be an ISO 8601 instant`, { fields: [{ field: name, message: 'must be an ISO 8601 instant such as 2026-06-30T23:59:59Z' }] });
  }
  return ms;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge: objects merge key by key, anything else (arrays included) replaces. */
export function mergeRules<T>(live: T, overrides: Record<string, unknown>): T {
  const out: Record<string, unknown> = { ...(live as Record<string, unknown>) };
  for (const [k, v] of Object.entries(overrides)) out[k] = isObject(v) && isObject(out[k]) ? mergeRules(out[k], v) : v;
  return out as T;
}

export function selectProjections(all: readonly Projection[], names: readonly string[]): Projection[] {
  if (names.length === 0) return [...all];
  const unknown = names.filter((n) => !all.some((p) => p.name === n));
  if (unknown.length > 0) {
    throw new CairnError(ERROR_CODES.VALIDATION, `unknown projection ${unknown.join(', ')} (known: ${all.map((p) => p.name).join(', ')})`, {
      fields: [{ field: 'projections', message: `unknown: ${unknown.join(', ')}` }],
    });
  }
  // Registry order, so projections that read each other's tables see them in the same order as live.
  return all.filter((p) => names.includes(p.name));
}

interface Scratch {
  readonly store: ReadStore;
  readonly projections: Projection[];
  readonly folder: Folder;
  readonly parked: { projection: string; id: string; position: string; type: string; error: string }[];
  readonly indexes: readonly { name: string; sql: string }[];
}

const BUDGET = 160 * 1024 * 1024;

/** A projection's fact rows waiting for the write are written past this size, as a rebuild's are. */
const STAGING = 16 * 1024 * 1024;

async function openScratch(projections: Projection[]): Promise<Scratch> {
  const store = await openReadStore(':memory:');
  for (const p of projections) await p.setup?.(store.db);
  // Built without secondary indexes (the folds read by primary key), which are made again at the
  // end, one sort each, before the output and the areas' summaries read the tables.
  const indexes = await secondaryIndexes(store, tablesOf(projections));
  for (const i of indexes) await store.onWriter?.(`drop index if exists "${i.name.replace(/"/g, '""')}"`);
  const parked: Scratch['parked'] = [];
  const folder = new Folder(store, projections, { onPoison: 'park', onParked: (projection, e, error) => parked.push({ projection, id: e.id, position: e.position, type: e.type, error }) });
  return { store, projections, folder, parked, indexes };
}

async function applyScratch(s: Scratch, batch: readonly LogEvent[]): Promise<void> {
  await s.folder.fold(batch);
  await s.folder.flushStaged(STAGING);
  if (s.folder.memory() > BUDGET) await s.folder.relieve(BUDGET);
}

/** The last write, then the secondary indexes the scratch store was built without. */
async function finishScratch(s: Scratch): Promise<void> {
  await s.folder.flush();
  for (const i of s.indexes) await s.store.onWriter?.(i.sql);
}

function tablesOf(projections: readonly Projection[]): string[] {
  return [...new Set(projections.flatMap((p) => p.tables.map((t) => t.table)))].sort();
}

export interface ReplayOptions {
  /** The areas whose rules apply on read (what-if.ts); their keys are the `rules` they take. */
  readonly areas?: readonly WhatIfArea[];
  /** The live read store, for what an area reads from it (segment definitions). */
  readonly live?: Kysely<ReadModelSchema> | null;
}

/** Splits `rules` into overrides of the folds' rules and the areas' own rules (parsed); 400 naming each unknown or bad key. */
export function splitRules<R>(liveRules: R, rules: Record<string, unknown>, areas: readonly WhatIfArea[], projections: readonly Projection[]) {
  const folds: Record<string, unknown> = {};
  const byArea: { area: WhatIfArea; rules: unknown }[] = [];
  const fields: { field: string; message: string }[] = [];
  const foldKeys = Object.keys(liveRules as Record<string, unknown>);
  for (const [key, value] of Object.entries(rules)) {
    const area = areas.find((a) => a.key === key);
    if (area) {
      const missing = area.reads.filter((name) => !projections.some((p) => p.name === name));
      if (missing.length > 0) fields.push({ field: `rules.${key}`, message: `needs the ${missing.join(', ')} projection${missing.length > 1 ? 's' : ''} in the replay (projections: ${[...new Set([...projections.map((p) => p.name), ...missing])].join(',')})` });
      else {
        try {
          byArea.push({ area, rules: area.parse(value) });
        } catch (err) {
          if (err instanceof CairnError && Array.isArray(err.details?.fields)) fields.push(...(err.details.fields as { field: string; message: string }[]));
          else throw err;
        }
      }
    } else if (foldKeys.includes(key)) folds[key] = value;
    else fields.push({ field: `rules.${key}`, message: `is not a rule Cairn knows: fold rules ${foldKeys.join(', ')}; areas ${areas.map((a) => a.key).join(', ') || 'none'}` });
  }
  if (fields.length > 0) throw new CairnError(ERROR_CODES.VALIDATION, `invalid what-if rules: ${fields[0]!.field} ${fields[0]!.message}`, { fields });
  return { folds, byArea };
}

/** The identity guard-rail of the live rules (`sharedDeviceLimit`, as the profile projection reads it). */
function sharedDeviceLimitOf(rules: unknown): number | undefined {
  const limit = isObject(rules) ? (rules as { sharedDeviceLimit?: unknown }).sharedDeviceLimit : undefined;
  return typeof limit === 'number' ? limit : undefined;
}

export async function runReplay<R>(
  events: CairnEventStore,
  projectionsFor: (rules: R) => readonly Projection[],
  liveRules: R,
  request: ReplayRequest,
  onProgress: (p: ReplayProgress) => void = () => undefined,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  const asOf = instant('asOf', request.asOf);
  const knownAt = instant('knownAt', request.knownAt);
  if (request.rules !== undefined && !isObject(request.rules)) {
    throw new CairnError(ERROR_CODES.VALIDATION, 'rules must be a JSON object', { fields: [{ field: 'rules', message: 'must be a JSON object' }] });
  }
  const selected = selectProjections(projectionsFor(liveRules), request.projections);
  const split = request.rules === undefined ? null : splitRules(liveRules, request.rules, options.areas ?? [], selected);
  const baseline = await openScratch(selected);
  // Only rules of the folds need a second read model; the areas compare over the one.
  const whatIfRules = split === null || Object.keys(split.folds).length === 0 ? null : mergeRules(liveRules, split.folds);
  let whatIf: Scratch | null = null;
  try {
    if (whatIfRules !== null) {
      whatIf = await openScratch(selectProjections(projectionsFor(whatIfRules), request.projections));
    }
    const head = (await headPosition(events)) ?? 0n;
    const progress = new Progress(0n, head, 0);
    const counts = { read: 0, included: 0, afterAsOf: 0, unknownAtKnownAt: 0 };
    /** The latest business time included: what "now" is for the areas of a replay without asOf (no wall clock in the output). */
    let latest = 0;
    // The areas read persons as of the replay's instants: the identity of the events kept.
    const identity = split !== null && split.byArea.length > 0 ? new IdentityAsOf(sharedDeviceLimitOf(liveRules)) : null;
    for await (const batch of readHistory(events, null, BATCH)) {
      const kept: LogEvent[] = [];
      for (const e of batch) {
        counts.read += 1;
        // An admin identity command is known and in force from the instant it was requested.
        const recordedAt = isIngestEvent(e) ? e.metadata?.receivedAt : e.data.requestedAt;
        const occurredAt = isIngestEvent(e) ? e.data.occurredAt : e.data.requestedAt;
        if (knownAt !== null && !(Date.parse(recordedAt ?? '') <= knownAt)) {
          counts.unknownAtKnownAt += 1;
          continue;
        }
        if (asOf !== null && !(Date.parse(occurredAt) <= asOf)) {
          counts.afterAsOf += 1;
          continue;
        }
        kept.push(e);
        identity?.add(e);
        const t = Date.parse(occurredAt);
        if (t > latest) latest = t;
      }
      counts.included += kept.length;
      if (kept.length > 0) {
        await applyScratch(baseline, kept);
        if (whatIf) await applyScratch(whatIf, kept);
      }
      progress.done = counts.read;
      onProgress({ phase: 'reading', ...progress.snapshot(batch[batch.length - 1].position) });
      // Timers and I/O (the API's requests, in the same thread) get their turn once per batch.
      await new Promise((r) => setImmediate(r));
    }
    onProgress({ phase: 'writing', done: counts.read, total: counts.read, rate: 0, etaSeconds: 0 });
    await finishScratch(baseline);
    if (whatIf) await finishScratch(whatIf);

    const files = new Map<string, string>();
    const tables: ReplaySummary['tables'] = {};
    const names = tablesOf(baseline.projections);
    const diffs: Record<string, Omit<TableDiff, 'addedKeys' | 'removedKeys' | 'changedRows'>> = {};
    for (const table of names) {
      const shape = await tableShape(baseline.store.db, table, 'sqlite');
      const rows = await dumpTable(baseline.store.db, table, shape);
      const prefix = whatIf ? 'baseline/' : '';
      files.set(`${prefix}${table}.csv`, toCsv(shape.columns, rows));
      files.set(`${prefix}${table}.json`, stableJson(rows));
      tables[table] = { rows: rows.length, files: [`${prefix}${table}.csv`, `${prefix}${table}.json`] };
      if (whatIf) {
        const other = await dumpTable(whatIf.store.db, table, shape);
        files.set(`what-if/${table}.csv`, toCsv(shape.columns, other));
        files.set(`what-if/${table}.json`, stableJson(other));
        const diff = diffRows(shape, rows, other);
        files.set(`diff/${table}.json`, stableJson(diff));
        diffs[table] = { added: diff.added, removed: diff.removed, changed: diff.changed, unchanged: diff.unchanged };
        tables[table].files.push(`what-if/${table}.csv`, `what-if/${table}.json`, `diff/${table}.json`);
      }
    }
    const areas: Record<string, unknown> = {};
    const whatIfAreas: Record<string, unknown> = {};
    const context: ReplayHookContext = {
      asOf: asOf === null ? null : new Date(asOf).toISOString(),
      knownAt: knownAt === null ? null : new Date(knownAt).toISOString(),
      rules: liveRules,
      whatIfRules,
    };
    for (const p of (whatIf?.projections ?? baseline.projections) as (Projection & ReplayAware)[]) {
      if (p.replaySummary) areas[p.name] = await p.replaySummary(baseline.store.db, context);
      if (whatIf && p.replayDiff) whatIfAreas[p.name] = await p.replayDiff(baseline.store.db, whatIf.store.db, context);
    }
    if (split && split.byArea.length > 0) {
      const areaContext: WhatIfContext = {
        asOf: context.asOf,
        knownAt: context.knownAt,
        at: context.asOf ?? new Date(latest).toISOString(),
        events,
        live: options.live ?? null,
        rules: liveRules,
        persons: identity?.persons() ?? new Map(),
      };
      for (const { area, rules } of split.byArea) {
        onProgress({ phase: 'writing', done: counts.read, total: counts.read, rate: 0, etaSeconds: 0 });
        const outcome = await area.compare(baseline.store.db, rules, areaContext);
        whatIfAreas[area.key] = outcome.summary;
        for (const [name, content] of Object.entries(outcome.files ?? {})) files.set(`what-if/${area.key}/${name}.json`, stableJson(content));
      }
    }
    const summary: ReplaySummary = {
      projections: baseline.projections.map((p) => ({ name: p.name, version: p.version })),
      asOf: asOf === null ? null : new Date(asOf).toISOString(),
      knownAt: knownAt === null ? null : new Date(knownAt).toISOString(),
      rules: split === null ? null : { live: liveRules, whatIf: whatIfRules ?? liveRules, ...(split.byArea.length > 0 ? { areas: Object.fromEntries(split.byArea.map((a) => [a.area.key, a.rules])) } : {}) },
      events: counts,
      parked: [...baseline.parked, ...(whatIf?.parked ?? []).map((p) => ({ ...p, projection: `${p.projection} (what-if)` }))],
      tables,
      areas,
      whatIf: split !== null ? { tables: diffs, areas: whatIfAreas } : null,
    };
    files.set('summary.json', stableJson(summary));
    onProgress({ phase: 'done', done: counts.read, total: counts.read, rate: 0, etaSeconds: 0 });
    return { files, summary };
  } finally {
    await baseline.store.close();
    await whatIf?.store.close();
  }
}
