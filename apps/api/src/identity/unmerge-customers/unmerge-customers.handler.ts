import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { jsonEvent } from '@eventstore/db-client';
import { randomUUID } from 'crypto';
import { CairnError, ERROR_CODES, IDENTITY_STREAM, IDENTITY_UNMERGED, type CustomersUnmergedV1 } from '@cairn/domain';
import { eventStoreUnavailable } from '@cairn/event-store';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { awaitApplied, awaitIdentityLog } from '../identity.apply';
import { UnmergeCustomersCommand, type UnmergeResult } from './unmerge-customers.command';

@CommandHandler(UnmergeCustomersCommand)
export class UnmergeCustomersHandler implements ICommandHandler<UnmergeCustomersCommand, UnmergeResult> {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  async execute(c: UnmergeCustomersCommand): Promise<UnmergeResult> {
    // Bring the read model up to the log first, so a merge just made elsewhere is found.
    await awaitIdentityLog(this.runtime);
    const row = await this.runtime.readStore.db.selectFrom('identity_merges').selectAll().where('merge_id', '=', c.mergeId).executeTakeFirst();
    if (!row) throw new CairnError(ERROR_CODES.NOT_FOUND, `no merge '${c.mergeId}' in force`, { mergeId: c.mergeId });
    const event: CustomersUnmergedV1 = { type: IDENTITY_UNMERGED, data: { mergeId: c.mergeId, requestedAt: c.requestedAt.toISOString() } };
    const appended = await this.runtime.events.client
      .appendToStream(IDENTITY_STREAM, jsonEvent({ id: randomUUID(), type: event.type, data: event.data as never }))
      .catch((err: Error) => {
        throw eventStoreUnavailable(err);
      });
    await awaitApplied(this.runtime, appended.position?.commit);
    this.runtime.logger.info({ mergeId: c.mergeId }, 'customers unmerged');
    return { mergeId: row.merge_id, survivorId: row.survivor_id, mergedId: row.merged_id, unmergedAt: event.data.requestedAt };
  }
}
