import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { BACKWARDS, END, StreamNotFoundError } from '@eventstore/db-client';
import { isCairnEventType, streamFor } from '@cairn/domain';
import { eventStoreUnavailable } from '@cairn/event-store';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { knownCustomer } from '../known-customer';
import { ListCustomerEventsQuery } from './list-customer-events.query';
import type { CustomerEventsPage, CustomerEventView } from './list-customer-events.response.dto';

/** Events read per stream per step, newest first. */
const READ_STEP = 200n;

@QueryHandler(ListCustomerEventsQuery)
export class ListCustomerEventsHandler implements IQueryHandler<ListCustomerEventsQuery, CustomerEventsPage> {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  async execute(q: ListCustomerEventsQuery): Promise<CustomerEventsPage> {
    const { customerId, identity } = await knownCustomer(this.runtime, q.customerId);
    const streams = [
      ...(identity?.customerIds ?? [customerId]).map((id) => streamFor({ customerId: id })),
      ...(identity?.anonymousIds ?? []).map((id) => streamFor({ anonymousId: id })),
    ];
    // Each stream's newest `limit + 1` events before the cursor, then the newest of all of them.
    const found = (await Promise.all(streams.map((s) => this.newest(s, q.before, q.limit + 1)))).flat();
    found.sort((a, b) => (BigInt(b.position) > BigInt(a.position) ? 1 : -1));
    // Personal values are sealed in the log: opened here with the person's keys (erased ones as null).
    const opened = await this.runtime.vault.open(found.slice(0, q.limit));
    const items = found.slice(0, q.limit).map((e, i) => ({ ...e, data: opened[i]!.data, ...(opened[i]!.erased.length > 0 ? { erasedFields: [...opened[i]!.erased] } : {}) }));
    return { customerId, streams, items, nextCursor: found.length > q.limit ? items[items.length - 1].position : null };
  }

  private async newest(stream: string, before: bigint | undefined, want: number): Promise<CustomerEventView[]> {
    const out: CustomerEventView[] = [];
    let from: bigint | typeof END = END;
    try {
      for (;;) {
        let last: bigint | undefined;
        let read = 0n;
        // Each read runs to its end (maxCount bounds it): a read left open would hold its call on the node.
        for await (const r of this.runtime.events.client.readStream(stream, { direction: BACKWARDS, fromRevision: from, maxCount: READ_STEP })) {
          read++;
          const e = r.event;
          if (!e) continue;
          last = e.revision;
          const position = e.position?.commit;
          if (out.length >= want || position === undefined || (before !== undefined && position >= before) || !e.isJson || !isCairnEventType(e.type)) continue;
          const data = e.data as Record<string, unknown>;
          const metadata = (e.metadata ?? {}) as { receivedAt?: string };
          out.push({ id: e.id, type: e.type, streamId: stream, revision: e.revision.toString(), position: position.toString(), occurredAt: String(data.occurredAt ?? ''), receivedAt: metadata.receivedAt ?? '', data });
        }
        if (out.length >= want || read < READ_STEP || last === undefined || last === 0n) return out;
        from = last - 1n;
      }
    } catch (err) {
      if (err instanceof StreamNotFoundError) return out;
      throw eventStoreUnavailable(err);
    }
  }
}
