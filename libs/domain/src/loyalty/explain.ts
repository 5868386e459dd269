/**
 * "Why is this customer Gold, and why this balance": the ledger's own data, grouped by cause, with
 * one sentence per conclusion. Pure: derived from a computed Ledger only.
 */
import type { Ledger, Movement } from './ledger';

export interface CauseSummary {
  readonly cause: string | null;
  readonly ruleVersions: readonly number[];
  readonly pending: number;
  readonly available: number;
  readonly movements: readonly Movement[];
}

export interface Explanation {
  readonly customerId: string;
  readonly asOf: string;
  readonly programVersion: number | null;
  readonly tier: { readonly summary: string; readonly contributions: NonNullable<Ledger['tier']>['contributions']; readonly history: Ledger['tierHistory'] } | null;
  readonly balance: { readonly summary: string; readonly byCause: readonly CauseSummary[] };
  readonly withheld: Ledger['withheld'];
  readonly ignored: Ledger['ignored'];
  readonly corrections: Ledger['corrections'];
}

export function explainLedger(l: Ledger): Explanation {
  const byCause = new Map<string, { cause: string | null; versions: Set<number>; pending: number; available: number; movements: Movement[] }>();
  for (const m of l.movements) {
    const key = m.cause ?? `(time) ${m.type}`;
    const e = byCause.get(key) ?? { cause: m.cause, versions: new Set<number>(), pending: 0, available: 0, movements: [] };
    if (m.ruleVersion !== null) e.versions.add(m.ruleVersion);
    e.pending += m.pending;
    e.available += m.available;
    e.movements.push(m);
    byCause.set(key, e);
  }
  let tier: Explanation['tier'] = null;
  if (l.tier) {
    const t = l.tier;
    const unit = t.basis === 'points' ? 'points earned' : 'net spend (minor units)';
    const kept = t.keptUntil === null ? (t.level === 0 ? 'the base tier' : 'kept indefinitely') : `kept until ${t.keptUntil}`;
    const next = t.next ? `; ${t.next.remaining} more to reach ${t.next.name} (${t.next.threshold})` : '; the top tier';
    tier = {
      summary: `${t.name} since ${t.since}: ${t.qualifying} ${unit} in the qualification window from ${t.contributions.length} contributing event(s); ${kept}${next}`,
      contributions: t.contributions,
      history: l.tierHistory,
    };
  }
  const summary =
    `available ${l.balance.available}, pending ${l.balance.pending}: lifetime earned ${l.lifetimeEarned}, taken back ${l.takenBack}, ` +
    `redeemed ${l.redeemed}, expired ${l.expired}` + (l.adjusted !== 0 ? `, adjusted ${l.adjusted > 0 ? '+' : ''}${l.adjusted}` : '') + (l.writtenOff > 0 ? `, written off ${l.writtenOff}` : '');
  return {
    customerId: l.customerId,
    asOf: l.asOf,
    programVersion: l.programVersion,
    tier,
    balance: {
      summary,
      byCause: [...byCause.values()].map((e) => ({ cause: e.cause, ruleVersions: [...e.versions].sort((a, b) => a - b), pending: e.pending, available: e.available, movements: e.movements })),
    },
    withheld: l.withheld,
    ignored: l.ignored,
    corrections: l.corrections,
  };
}
