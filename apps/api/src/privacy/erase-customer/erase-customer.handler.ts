import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { StreamNotFoundError } from '@eventstore/db-client';
import { randomUUID } from 'crypto';
import { CairnError, ERROR_CODES, streamFor } from '@cairn/domain';
import { eventStoreUnavailable } from '@cairn/event-store';
import { knownCustomer } from '../../customers/known-customer';
import { awaitIdentityLog } from '../../identity/identity.apply';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { erasuresOf, idsOfSubjects, recordErasureEvent, type ErasureRecord } from '../erasures';
import { EraseCustomerCommand } from './erase-customer.command';

/**
 * Erasure (right to be forgotten, docs/privacy.md):
 * 1. waits until the projections have folded everything accepted so far (so identity links of
 *    events just ingested count), then resolves the person: a customer id covers every customer id
 *    merged with it and every anonymous id linked to them (shared devices excepted); an anonymous
 *    id alone covers that visitor;
 * 2. destroys their data keys and stores the PII-free record in one read-store transaction;
 * 3. appends `cairn.privacy.erased.v1` (the erasure id as event id) and answers the record.
 * Erasing again when every id is already erased answers the record that erased them (200).
 */
@CommandHandler(EraseCustomerCommand)
export class EraseCustomerHandler implements ICommandHandler<EraseCustomerCommand, { record: ErasureRecord; created: boolean }> {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  async execute(command: EraseCustomerCommand): Promise<{ record: ErasureRecord; created: boolean }> {
    const { runtime } = this;
    await this.awaitFolded();
    const subjects = await this.subjectsOf(command.request.subject);
    const erased = await runtime.vault.erasedSubjects(subjects);
    if (subjects.every((s) => erased.has(s))) {
      const previous = (await erasuresOf(runtime, subjects)).at(-1);
      if (previous) return { record: previous.position === null ? await recordErasureEvent(runtime, previous) : previous, created: false };
    }
    const erasureId = randomUUID();
    const at = command.at.toISOString();
    const requested = command.request.subject;
    let record!: ErasureRecord;
    await runtime.vault.erase(subjects, erasureId, at, async (trx, keys) => {
      record = {
        erasureId,
        requested,
        reason: command.request.reason,
        reference: command.request.reference,
        actor: command.actor,
        erasedAt: at,
        ...idsOfSubjects(keys.subjects),
        keysDestroyed: keys.fingerprints,
        position: null,
      };
      await trx
        .insertInto('privacy_erasures')
        .values({
          erasure_id: erasureId,
          requested_id: 'customerId' in requested ? requested.customerId : requested.anonymousId,
          requested_kind: 'customerId' in requested ? 'customer' : 'visitor',
          reason: record.reason,
          reference: record.reference,
          actor: record.actor,
          erased_at: at,
          subjects: JSON.stringify(keys.subjects),
          fingerprints: JSON.stringify(keys.fingerprints),
          position: null,
        })
        .execute();
    });
    runtime.logger.info({ erasureId, ids: keys(record), keysDestroyed: record.keysDestroyed.length }, 'erasure: data keys destroyed');
    return { record: await recordErasureEvent(runtime, record), created: true };
  }

  /** Every event accepted before the erasure is folded, so its identity links are known. */
  private async awaitFolded(): Promise<void> {
    await awaitIdentityLog(this.runtime);
    const head = await this.runtime.events.lastCairnEvent().catch((err: unknown) => {
      throw eventStoreUnavailable(err);
    });
    if (head && !(await this.runtime.projections.waitFor(head.position, this.runtime.config.readWaitMs))) {
      throw new CairnError(ERROR_CODES.UNAVAILABLE, `the projections have not folded the log up to ${head.position} within ${this.runtime.config.readWaitMs} ms, so the person's linked ids are not all known yet: retry`, { component: 'projections' });
    }
  }

  private async subjectsOf(subject: { customerId: string } | { anonymousId: string }): Promise<string[]> {
    if ('customerId' in subject) {
      const { customerId, identity } = await knownCustomer(this.runtime, subject.customerId);
      return [...(identity?.customerIds ?? [customerId]).map((id) => streamFor({ customerId: id })), ...(identity?.anonymousIds ?? []).map((id) => streamFor({ anonymousId: id }))];
    }
    const stream = streamFor({ anonymousId: subject.anonymousId });
    if (!(await this.streamExists(stream))) throw new CairnError(ERROR_CODES.NOT_FOUND, `no visitor '${subject.anonymousId}'`, { anonymousId: subject.anonymousId });
    return [stream];
  }

  private async streamExists(stream: string): Promise<boolean> {
    try {
      for await (const _ of this.runtime.events.client.readStream(stream, { maxCount: 1 })) return true;
      return false;
    } catch (err) {
      if (err instanceof StreamNotFoundError) return false;
      throw eventStoreUnavailable(err);
    }
  }
}

const keys = (r: ErasureRecord) => ({ customerIds: r.customerIds.length, anonymousIds: r.anonymousIds.length });
