/**
 * Answers the analytics endpoints from the read store (the analytics_facts table), never from the
 * event store. The facts are read as persons (`factsByPerson` over the identity the profiles
 * projection resolved, read when a metric is asked): a merged person counts once in retention,
 * KPIs and CLV, and an unmerge splits it again at once. The fitted CLV model is cached per
 * (analytics facts, identity, calibration parameters).
 */
import { Inject, Injectable } from '@nestjs/common';
import {
  calibrationSummaries,
  beatsOrder,
  CairnError,
  cohortRetention,
  computeKpis,
  customerValue,
  dayToIso,
  ERROR_CODES,
  factsByPerson,
  fitClvModel,
  isIdentityMap,
  samePersonMap,
  uniqueOrders,
  type ClvModel,
  type Facts,
  type OrderFact,
  type CustomerSummary,
  type CustomerValue,
  type Kpis,
  type LocalCalendar,
  type PeriodUnit,
  type PersonMap,
  type RetentionRow,
} from '@cairn/domain';
import { customerIdsOfPerson, loadAnalyticsFacts, loadPersonMap, type LoadedFacts } from '@cairn/projections';
import { RUNTIME, type CairnRuntime } from '../runtime';

const DAY_MS = 86_400_000;

export interface RetentionParams {
  readonly period: 'week' | 'month';
  readonly returning: 'purchase' | 'activity';
  readonly mode: 'bounded' | 'unbounded';
  readonly cohort: 'first' | 'recurring';
  readonly calendar: LocalCalendar;
  readonly asOfDay: number;
}

export interface ClvParams {
  readonly calendar: LocalCalendar;
  readonly calibrationEndDay: number;
  readonly unit: 'day' | 'week';
  readonly horizon: number;
  readonly margin: number;
  readonly annualDiscountRate: number;
}

export interface ClvReport {
  readonly model: ClvModel;
  readonly summaries: readonly CustomerSummary[];
}

@Injectable()
export class AnalyticsReader {
  private cache: { key: string; report: Promise<ClvReport> } | undefined;

  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  /**
   * Every fact, kept in memory and topped up from the read store with the rows projected since
   * (`seq` > the last seen). Reloaded from scratch when the table shrank (a rebuild). The metric
   * functions filter by their own as-of dates, so one copy serves every query.
   */
  private memory: { facts: LoadedFacts & { unique: true }; count: number; orderIndex: Map<string, number> } | undefined;
  private topUp: Promise<Facts> | undefined;
  /**
   * Who is whom, as last read from identity_sources, and under which profiles checkpoint (read
   * again only when that moved); `version` grows whenever what it says changed.
   */
  private identity: { checkpoint: string | null; map: PersonMap; version: number } | undefined;
  /** The in-memory facts read as persons, for one (facts, identity version). */
  private persons: { raw: LoadedFacts; rows: number; maxSeq: number; version: number; facts: Facts } | undefined;

  /** Every fact, each id read as its person's canonical customer id. */
  allFacts(): Promise<Facts> {
    const next = (this.topUp ?? Promise.resolve(undefined)).catch(() => undefined).then(async () => this.asPersons(await this.refresh(), await this.readIdentity()));
    this.topUp = next;
    return next;
  }

  /** A key that changes whenever the facts or the identity they are read through change. */
  private factsKey(): string {
    return [this.memory?.facts.maxSeq, this.memory?.count, this.identity?.version].join('|');
  }

  private async readIdentity(): Promise<{ map: PersonMap; version: number }> {
    const db = this.runtime.readStore.db;
    const row = await db.selectFrom('checkpoints').select(['position', 'updated_at', 'events_processed']).where('projection', '=', 'profiles').executeTakeFirst();
    // No checkpoint (specs folding without the engine): read it every time.
    const checkpoint = row === undefined ? null : `${row.position}|${row.updated_at}|${row.events_processed}`;
    const cur = this.identity;
    if (cur !== undefined && checkpoint !== null && cur.checkpoint === checkpoint) return cur;
    const map = await loadPersonMap(db);
    if (cur !== undefined && samePersonMap(cur.map, map)) {
      cur.checkpoint = checkpoint;
      return cur;
    }
    this.identity = { checkpoint, map, version: (cur?.version ?? 0) + 1 };
    return this.identity;
  }

  private asPersons(raw: LoadedFacts & { unique: true }, identity: { map: PersonMap; version: number }): Facts {
    if (isIdentityMap(identity.map)) return raw;
    const p = this.persons;
    if (p !== undefined && p.raw === raw && p.rows === this.memory?.count && p.maxSeq === raw.maxSeq && p.version === identity.version) return p.facts;
    const facts = factsByPerson(raw, identity.map);
    this.persons = { raw, rows: this.memory?.count ?? 0, maxSeq: raw.maxSeq, version: identity.version, facts };
    return facts;
  }

  private async refresh(): Promise<LoadedFacts & { unique: true }> {
    const db = this.runtime.readStore.db;
    const { n } = await db.selectFrom('analytics_facts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const count = Number(n);
    let m = this.memory;
    if (m !== undefined && count > m.count) {
      const more = await loadAnalyticsFacts(db, { activity: true, afterSeq: m.facts.maxSeq });
      m.count += more.rows;
      if (m.count === count) {
        addOrders(m.facts.orders, m.orderIndex, more.orders);
        for (const r of more.returns) m.facts.returns.push(r);
        for (const a of more.activity) m.facts.activity.push(a);
        m.facts.maxSeq = more.maxSeq;
      } else m = undefined; // rows without a position, or a race with a rebuild: reload
    }
    if (m === undefined || count < m.count) {
      const loaded = await loadAnalyticsFacts(db, { activity: true });
      const orders: OrderFact[] = [];
      const orderIndex = new Map<string, number>();
      addOrders(orders, orderIndex, loaded.orders);
      m = { facts: { ...loaded, orders, unique: true }, count: loaded.rows, orderIndex };
    }
    this.memory = m;
    return m.facts;
  }

  async retention(p: RetentionParams): Promise<RetentionRow[]> {
    return cohortRetention(await this.allFacts(), p);
  }

  async kpis(calendar: LocalCalendar, fromDay: number, toDay: number, period: PeriodUnit): Promise<Kpis> {
    return computeKpis(await this.allFacts(), { calendar, fromDay, toDay, period, currency: this.runtime.config.currency });
  }

  async clv(p: ClvParams): Promise<ClvReport> {
    await this.allFacts();
    const key = [this.factsKey(), p.calendar.timezone, p.calibrationEndDay, p.unit].join('|');
    if (this.cache?.key !== key) {
      const report = this.fitReport(p);
      this.cache = { key, report };
      report.catch(() => {
        if (this.cache?.key === key) this.cache = undefined;
      });
    }
    return this.cache!.report;
  }

  private async fitReport(p: ClvParams): Promise<ClvReport> {
    const currency = this.runtime.config.currency;
    const facts = await this.allFacts();
    const summaries = calibrationSummaries(facts, { ...p, currency });
    if (summaries.length === 0) {
      throw new CairnError(ERROR_CODES.NOT_FOUND, `no purchases up to the calibration end ${dayToIso(p.calibrationEndDay)}`, {
        fields: [{ field: 'calibrationEnd', message: 'no customer purchased before it' }],
      });
    }
    return { model: fitClvModel(summaries, currency), summaries };
  }

  private valuesCache: { report: ClvReport; key: string; values: CustomerValue[] } | undefined;

  /** Every customer's predicted value under a fitted report (cached per report and horizon/margin/discount). */
  values(report: ClvReport, p: ClvParams): CustomerValue[] {
    const key = `${p.horizon}|${p.margin}|${p.annualDiscountRate}|${p.unit}`;
    if (this.valuesCache?.report !== report || this.valuesCache.key !== key) {
      this.valuesCache = { report, key, values: report.summaries.map((s) => customerValue(report.model, s, p)) };
    }
    return this.valuesCache.values;
  }

  /**
   * One person's historic value (net revenue to date, over every customer id of the person) and,
   * when they bought before the calibration end, the predicted value; answered under the person's
   * canonical customer id, as GET /v1/customers/:id answers.
   */
  async customer(requestedId: string, p: ClvParams, nowMs = Date.now()) {
    const currency = this.runtime.config.currency;
    const db = this.runtime.readStore.db;
    const person = await customerIdsOfPerson(db, requestedId);
    const customerId = person.customerId;
    const raw = await loadAnalyticsFacts(db, { untilMs: nowMs, activity: false, customerIds: person.customerIds });
    const facts = factsByPerson(raw, { customers: new Map(person.customerIds.filter((id) => id !== customerId).map((id) => [id, customerId])), visitors: new Map() });
    const orders = uniqueOrders(facts.orders).sort((a, b) => a.at - b.at);
    if (orders.length === 0) throw new CairnError(ERROR_CODES.NOT_FOUND, `no purchases by customer '${requestedId}'`, { customerId: requestedId });
    const refunds = new Map<string, number>();
    for (const r of facts.returns) refunds.set(r.orderId, (refunds.get(r.orderId) ?? 0) + r.refundMinor);
    let gross = 0;
    let refunded = 0;
    for (const o of orders) {
      if (o.currency !== currency) continue;
      gross += o.totalMinor;
      refunded += Math.min(refunds.get(o.orderId) ?? 0, o.totalMinor);
    }
    const report = await this.clv(p);
    const summary = report.summaries.find((s) => s.customerId === customerId);
    const v = summary ? customerValue(report.model, summary, p) : undefined;
    return {
      customerId,
      currency,
      historic: {
        orders: orders.length,
        grossMinor: gross,
        refundedMinor: refunded,
        netMinor: gross - refunded,
        firstPurchaseAt: new Date(orders[0].at).toISOString(),
        lastPurchaseAt: new Date(orders[orders.length - 1].at).toISOString(),
      },
      predicted: v ? customerValueView(v) : null,
      model: { calibrationEnd: dayToIso(p.calibrationEndDay), unit: p.unit, horizon: p.horizon, margin: p.margin, discountRate: p.annualDiscountRate, timezone: p.calendar.timezone },
    };
  }
}

export function customerValueView(v: CustomerValue) {
  return {
    customerId: v.customerId,
    frequency: v.x,
    recency: v.tx,
    T: v.T,
    monetaryMinor: Math.round(v.monetaryMinor),
    pAlive: v.pAlive,
    churnRisk: v.churnRisk,
    churnBand: v.churnBand,
    expectedPurchases: v.expectedPurchases,
    expectedSpendMinor: v.expectedSpendMinor === null ? null : Math.round(v.expectedSpendMinor),
    predictedClvMinor: v.predictedClvMinor === null ? null : Math.round(v.predictedClvMinor),
  };
}

/** Keeps one order per (customerId, orderId): the one uniqueOrders keeps (beatsOrder). */
function addOrders(into: OrderFact[], index: Map<string, number>, more: readonly OrderFact[]): void {
  for (const o of more) {
    const k = `${o.customerId}\u0000${o.orderId}`;
    const i = index.get(k);
    if (i === undefined) {
      index.set(k, into.length);
      into.push(o);
    } else {
      const cur = into[i];
      if (beatsOrder(o, cur)) into[i] = o;
    }
  }
}
