import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { jsonEvent } from '@eventstore/db-client';
import { randomUUID } from 'crypto';
import { CairnError, ERROR_CODES, IDENTITY_MERGED, IDENTITY_STREAM, customerSource, type CustomersMergedV1 } from '@cairn/domain';
import { eventStoreUnavailable } from '@cairn/event-store';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { awaitApplied } from '../identity.apply';
import { MergeCustomersCommand, type MergeResult } from './merge-customers.command';

@CommandHandler(MergeCustomersCommand)
export class MergeCustomersHandler implements ICommandHandler<MergeCustomersCommand, MergeResult> {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  async execute(c: MergeCustomersCommand): Promise<MergeResult> {
    const db = this.runtime.readStore.db;
    const known = await db.selectFrom('identity_sources').select('source_id').where('source_id', 'in', [customerSource(c.survivorId), customerSource(c.mergedId)]).execute();
    const missing = [c.survivorId, c.mergedId].filter((id) => !known.some((k) => k.source_id === customerSource(id)));
    if (missing.length > 0) {
      throw new CairnError(ERROR_CODES.NOT_FOUND, `no customer ${missing.map((m) => `'${m}'`).join(', ')}`, {
        fields: missing.map((m) => ({ field: m === c.survivorId ? 'survivorId' : 'mergedId', message: 'no such customer' })),
      });
    }
    const event: CustomersMergedV1 = {
      type: IDENTITY_MERGED,
      data: { mergeId: randomUUID(), survivorId: c.survivorId, mergedId: c.mergedId, requestedAt: c.requestedAt.toISOString(), ...(c.reason !== undefined ? { reason: c.reason } : {}) },
    };
    const appended = await this.runtime.events.client
      .appendToStream(IDENTITY_STREAM, jsonEvent({ id: event.data.mergeId, type: event.type, data: event.data as never }))
      .catch((err: Error) => {
        throw eventStoreUnavailable(err);
      });
    await awaitApplied(this.runtime, appended.position?.commit);
    this.runtime.logger.info({ mergeId: event.data.mergeId, survivorId: c.survivorId, mergedId: c.mergedId }, 'customers merged');
    return event.data;
  }
}
