import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { lifecycleStage, type LifecycleRules, type Profile } from '@cairn/domain';
import { encodeCursor, listProfiles } from '@cairn/read-models';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { toProfileView } from '../profile.view';
import { ListCustomersQuery, type CustomerFilters, type CustomerPage } from './list-customers.query';

/** Profiles read per step while filtering (a filtered page scans the id order until it is full). */
const SCAN_BATCH = 500;

@QueryHandler(ListCustomersQuery)
export class ListCustomersHandler implements IQueryHandler<ListCustomersQuery, CustomerPage> {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  async execute(q: ListCustomersQuery): Promise<CustomerPage> {
    const db = this.runtime.readStore.db;
    const { idPrefix, ...rest } = q.filters;
    const test = this.matcher(rest);
    if (!test) {
      const page = await listProfiles(db, { cursor: q.cursor, limit: q.limit, idPrefix });
      return { items: page.items.map((p) => toProfileView(p)), nextCursor: page.nextCursor };
    }
    // Filters on the profile's figures: scan the id order, keep the matches; the cursor is the last id scanned.
    const items: Profile[] = [];
    let cursor = q.cursor;
    for (;;) {
      const page = await listProfiles(db, { cursor, limit: SCAN_BATCH, idPrefix });
      for (let i = 0; i < page.items.length; i++) {
        if (!test(page.items[i])) continue;
        items.push(page.items[i]);
        if (items.length === q.limit) {
          const more = i < page.items.length - 1 || page.nextCursor !== null;
          return { items: items.map((p) => toProfileView(p)), nextCursor: more ? encodeCursor(page.items[i].customerId) : null };
        }
      }
      if (page.nextCursor === null) return { items: items.map((p) => toProfileView(p)), nextCursor: null };
      cursor = page.nextCursor;
    }
  }

  private matcher(f: Omit<CustomerFilters, 'idPrefix'>): ((p: Profile) => boolean) | undefined {
    if (f.minOrders === undefined && f.minNetMinor === undefined && f.stage === undefined) return undefined;
    const { config } = this.runtime;
    const rules: LifecycleRules = { newDays: config.lifecycleNewDays, activeDays: config.lifecycleActiveDays, lapsedDays: config.lifecycleLapsedDays };
    const now = new Date();
    return (p) =>
      (f.minOrders === undefined || p.orders >= f.minOrders) &&
      (f.minNetMinor === undefined || p.netMinor >= f.minNetMinor) &&
      (f.stage === undefined || lifecycleStage(p, now, rules) === f.stage);
  }
}

