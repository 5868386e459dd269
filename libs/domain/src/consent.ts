/**
 * Consent: per purpose, the person's changes (granted / withdrawn) in business-time order, and what
 * they mean as of an instant. Pure; the clock is always passed in.
 *
 * The log of a purpose is a set of changes keyed by event id, kept sorted by (occurredAt, status,
 * event id) with `withdrawn` after `granted` at the same instant: a grant and a withdrawal of the
 * same instant read as withdrawn (the conservative reading), and arrival order never changes the
 * answer. Two logs of disjoint event sets combine exactly (`mergeConsentLogs`), as profiles do.
 *
 * As of an instant T only the changes with occurredAt ≤ T count (and only they are shown): the
 * answer over the whole log equals the answer over the log cut at T, like every as-of read.
 */
import { CONSENT_STATUSES, type ConsentStatus } from './events';

/** One change of one purpose, as stored in a profile and shown by the API. */
export interface ConsentChange {
  readonly status: ConsentStatus;
  /** UTC ISO (business time). */
  readonly occurredAt: string;
  readonly source: string | null;
  readonly policyVersion: string | null;
  readonly eventId: string;
}

/** purpose → its changes, sorted (see `compareConsentChanges`). */
export type ConsentLog = Readonly<Record<string, readonly ConsentChange[]>>;

/** A purpose's consent as of an instant. */
export interface ConsentRecord {
  readonly status: ConsentStatus;
  /** When the current status began: the first change of the latest run of equal statuses. */
  readonly since: string;
  /** The latest change (a repeated grant, e.g. under a new policy version, moves it, not `since`). */
  readonly updatedAt: string;
  /** Of the latest change. */
  readonly source: string | null;
  readonly policyVersion: string | null;
  /** Every change up to the instant, oldest first. */
  readonly history: readonly ConsentChange[];
}

/** purpose → its consent as of an instant (purposes without a change up to it are absent). */
export type ConsentView = Readonly<Record<string, ConsentRecord>>;

const RANK: Readonly<Record<ConsentStatus, number>> = { granted: 0, withdrawn: 1 };

export function compareConsentChanges(a: ConsentChange, b: ConsentChange): number {
  if (a.occurredAt !== b.occurredAt) return a.occurredAt < b.occurredAt ? -1 : 1;
  if (a.status !== b.status) return RANK[a.status] - RANK[b.status];
  return a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0;
}

/** A change in fixed key order (equal content, equal JSON bytes). */
export function consentChange(c: { status: ConsentStatus; occurredAt: string; source?: string | null; policyVersion?: string | null; eventId: string }): ConsentChange {
  return { status: c.status, occurredAt: c.occurredAt, source: c.source ?? null, policyVersion: c.policyVersion ?? null, eventId: c.eventId };
}

function own<V>(r: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.prototype.hasOwnProperty.call(r, key) ? r[key] : undefined;
}

function put<V>(r: Record<string, V>, key: string, v: V): void {
  Object.defineProperty(r, key, { value: v, enumerable: true, writable: true, configurable: true });
}

/**
 * Adds one change to a purpose's list IN PLACE (the log is private to its owner), keeping it sorted;
 * an event id already there is not added again.
 */
export function addConsentChange(log: Record<string, ConsentChange[]>, purpose: string, change: ConsentChange): void {
  let list = own(log, purpose);
  if (list === undefined) {
    list = [];
    put(log, purpose, list);
  }
  if (list.some((c) => c.eventId === change.eventId)) return;
  let i = list.length;
  while (i > 0 && compareConsentChanges(list[i - 1]!, change) > 0) i--;
  list.splice(i, 0, change);
}

/** The union of logs (of disjoint or overlapping event sets: an event id counts once), sorted by purpose. */
export function mergeConsentLogs(...logs: readonly (ConsentLog | undefined)[]): Record<string, ConsentChange[]> {
  const out: Record<string, ConsentChange[]> = {};
  for (const log of logs) {
    if (log === undefined) continue;
    for (const purpose of Object.keys(log)) for (const c of own(log, purpose) ?? []) addConsentChange(out, purpose, c);
  }
  return canonicalConsentLog(out);
}

/** A copy with purposes in order and every change in fixed key order. */
export function canonicalConsentLog(log: ConsentLog | undefined): Record<string, ConsentChange[]> {
  const out: Record<string, ConsentChange[]> = {};
  if (log === undefined) return out;
  for (const purpose of Object.keys(log).sort()) put(out, purpose, [...(own(log, purpose) ?? [])].sort(compareConsentChanges).map(consentChange));
  return out;
}

const toIso = (at: Date | string): string => (typeof at === 'string' ? at : at.toISOString());

/** A purpose's consent as of `at` (every change when `at` is omitted); undefined without a change up to it. */
export function consentRecordAsOf(changes: readonly ConsentChange[] | undefined, at?: Date | string): ConsentRecord | undefined {
  if (changes === undefined || changes.length === 0) return undefined;
  const until = at === undefined ? undefined : toIso(at);
  const history = until === undefined ? [...changes] : changes.filter((c) => c.occurredAt <= until);
  if (history.length === 0) return undefined;
  let since = history[0]!.occurredAt;
  for (let i = 1; i < history.length; i++) if (history[i]!.status !== history[i - 1]!.status) since = history[i]!.occurredAt;
  const last = history[history.length - 1]!;
  return { status: last.status, since, updatedAt: last.occurredAt, source: last.source, policyVersion: last.policyVersion, history: history.map(consentChange) };
}

/** Every purpose's consent as of `at` (omitted: after every change), purposes in order. */
export function consentAsOf(log: ConsentLog | undefined, at?: Date | string): ConsentView {
  const out: Record<string, ConsentRecord> = {};
  if (log === undefined) return out;
  for (const purpose of Object.keys(log).sort()) {
    const r = consentRecordAsOf(own(log, purpose), at);
    if (r !== undefined) put(out, purpose, r);
  }
  return out;
}

/** The log a view was made from (a view shows every change up to its instant). */
export function consentLogOf(view: ConsentView | undefined): Record<string, ConsentChange[]> {
  const out: Record<string, ConsentChange[]> = {};
  if (view === undefined) return out;
  for (const purpose of Object.keys(view)) put(out, purpose, [...(own(view, purpose)?.history ?? [])]);
  return out;
}

/** Whether `purpose` is granted as of `at`: its latest change up to then is a grant. No change means not granted. */
export function isConsentGranted(log: ConsentLog | undefined, purpose: string, at: Date | string): boolean {
  if (log === undefined) return false;
  const until = toIso(at);
  const changes = own(log, purpose) ?? [];
  let status: ConsentStatus | undefined;
  for (const c of changes) {
    if (c.occurredAt > until) break;
    status = c.status;
  }
  return status === 'granted';
}

export function isConsentStatus(v: unknown): v is ConsentStatus {
  return (CONSENT_STATUSES as readonly unknown[]).includes(v);
}

/**
 * Why a reaction about a person must be withheld for `purpose` as of `at` (null: consent is granted
 * then, go ahead). Used by every outgoing reaction that declares the purpose it needs.
 */
export function consentWithheldReason(log: ConsentLog | undefined, purpose: string, at: Date | string): string | null {
  const when = toIso(at);
  const record = consentRecordAsOf(log === undefined || !Object.prototype.hasOwnProperty.call(log, purpose) ? undefined : log[purpose], when);
  if (record?.status === 'granted') return null;
  if (record === undefined) return `no ${purpose} consent as of ${when} (never granted)`;
  return `${purpose} consent withdrawn since ${record.since} (as of ${when})`;
}
