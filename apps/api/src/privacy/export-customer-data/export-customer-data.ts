/**
 * Right of access (docs/privacy.md): one JSON document with everything Cairn holds about a person,
 * written as it is read (an event page at a time), so a long history never sits in memory.
 *
 *   { format, exportedAt, requestedId, customerId, customerIds, anonymousIds, sharedDevices,
 *     erasures, profile, loyalty, segments, events: [ …every event of every id, decrypted… ] }
 *
 * Personal values are opened with the person's keys; erased ones are null and named in the event's
 * `erasedFields`. Parts a person has none of (no loyalty program) are null.
 */
import { QueryBus } from '@nestjs/cqrs';
import { StreamNotFoundError } from '@eventstore/db-client';
import { once } from 'events';
import type { Writable } from 'stream';
import { CairnError, ERROR_CODES, isCairnEventType, streamFor } from '@cairn/domain';
import { eventStoreUnavailable } from '@cairn/event-store';
import { GetCustomerQuery } from '../../customers/get-customer/get-customer.query';
import { knownCustomer } from '../../customers/known-customer';
import { ListCustomerSegmentsQuery } from '../../customers/list-customer-segments/list-customer-segments.query';
import { GetLedgerQuery } from '../../loyalty/get-ledger/get-ledger.query';
import type { CairnRuntime } from '../../runtime';
import type { ProfileView } from '../../customers/profile.view';
import { erasuresOf, type ErasureRecord } from '../erasures';

export const EXPORT_FORMAT = 'cairn.privacy.export.v1';

/** One event of the export: as stored, personal values opened. */
export interface ExportedEvent {
  readonly id: string;
  readonly type: string;
  readonly streamId: string;
  readonly revision: string;
  readonly position: string;
  readonly occurredAt: string;
  readonly receivedAt: string;
  readonly data: Record<string, unknown>;
  /** Paths of personal values that were erased (null in data). */
  readonly erasedFields?: string[];
}

/** The whole document GET /v1/privacy/customers/:id/export answers. */
export interface CustomerDataExport {
  readonly format: typeof EXPORT_FORMAT;
  readonly exportedAt: string;
  readonly requestedId: string;
  /** The id the person resolves to. */
  readonly customerId: string;
  readonly customerIds: readonly string[];
  readonly anonymousIds: readonly string[];
  /** Anonymous ids linked to the person but shared by too many customers: not part of the export. */
  readonly sharedDevices: readonly string[];
  readonly erasures: readonly ErasureRecord[];
  /** As GET /v1/customers/:id answers it (consent included); null if no profile was folded. */
  readonly profile: ProfileView | null;
  /** As GET /v1/loyalty/:customerId/ledger answers it; null without a loyalty program. */
  readonly loyalty: Record<string, unknown> | null;
  /** As GET /v1/customers/:id/segments answers it. */
  readonly segments: Record<string, unknown> | null;
  readonly events: readonly ExportedEvent[];
}
const PAGE = 500n;

/** The person and every part of the document but the events: resolved before the first byte is sent, so a 404 is still a 404. */
export async function exportHead(runtime: CairnRuntime, queries: QueryBus, requested: string, at: Date): Promise<{ head: Omit<CustomerDataExport, 'events'>; streams: string[] }> {
  const { customerId, identity } = await knownCustomer(runtime, requested);
  const customerIds = identity?.customerIds ?? [customerId];
  const anonymousIds = identity?.anonymousIds ?? [];
  const streams = [...customerIds.map((id) => streamFor({ customerId: id })), ...anonymousIds.map((id) => streamFor({ anonymousId: id }))];
  const optional = async <T>(work: Promise<T>): Promise<T | null> => {
    try {
      return await work;
    } catch (err) {
      if (err instanceof CairnError && err.code === ERROR_CODES.NOT_FOUND) return null;
      throw err;
    }
  };
  const head = {
    format: EXPORT_FORMAT as typeof EXPORT_FORMAT,
    exportedAt: at.toISOString(),
    requestedId: requested,
    customerId,
    customerIds,
    anonymousIds,
    sharedDevices: identity?.sharedDevices ?? [],
    erasures: await erasuresOf(runtime, streams),
    profile: await optional(queries.execute(new GetCustomerQuery(customerId))),
    loyalty: (await optional(queries.execute(new GetLedgerQuery(customerId, at.toISOString())))) as Record<string, unknown> | null,
    segments: (await optional(queries.execute(new ListCustomerSegmentsQuery(customerId)))) as unknown as Record<string, unknown> | null,
  };
  return { head, streams };
}

async function write(out: Writable, chunk: string): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}

/** Writes the document: the head's fields, then `events`, stream by stream in log order, decrypted. */
export async function writeExport(runtime: CairnRuntime, out: Writable, head: Omit<CustomerDataExport, 'events'>, streams: readonly string[]): Promise<number> {
  const fields = JSON.stringify(head);
  await write(out, `${fields.slice(0, -1)},"events":[`);
  let count = 0;
  for (const stream of streams) {
    let from = 0n;
    for (;;) {
      const page: ExportedEvent[] = [];
      let read = 0n;
      try {
        for await (const r of runtime.events.client.readStream(stream, { fromRevision: from, maxCount: PAGE })) {
          read++;
          const e = r.event;
          if (!e) continue;
          from = e.revision + 1n;
          if (!e.isJson || !isCairnEventType(e.type)) continue;
          const data = e.data as Record<string, unknown>;
          page.push({ id: e.id, type: e.type, streamId: stream, revision: e.revision.toString(), position: (e.position?.commit ?? 0n).toString(), occurredAt: String(data.occurredAt ?? ''), receivedAt: String((e.metadata as { receivedAt?: string } | undefined)?.receivedAt ?? ''), data });
        }
      } catch (err) {
        if (err instanceof StreamNotFoundError) break;
        throw eventStoreUnavailable(err);
      }
      const opened = await runtime.vault.open(page);
      for (let i = 0; i < page.length; i++) {
        const erased = opened[i]!.erased;
        await write(out, `${count++ === 0 ? '' : ','}${JSON.stringify({ ...page[i], data: opened[i]!.data, ...(erased.length > 0 ? { erasedFields: erased } : {}) })}`);
      }
      if (read < PAGE) break;
    }
  }
  await write(out, ']}');
  return count;
}
