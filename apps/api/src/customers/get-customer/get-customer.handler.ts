import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { CairnError, ERROR_CODES, lifecycleStage, type LifecycleRules } from '@cairn/domain';
import { resolveCustomer } from '@cairn/projections';
import { getProfile, readStoredCustomer, servedCustomer } from '@cairn/read-models';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { toProfileView, type ProfileView } from '../profile.view';
import { GetCustomerQuery } from './get-customer.query';

@QueryHandler(GetCustomerQuery)
export class GetCustomerHandler implements IQueryHandler<GetCustomerQuery, ProfileView> {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  async execute(q: GetCustomerQuery): Promise<ProfileView> {
    const { config, readStore } = this.runtime;
    const rules: LifecycleRules = { newDays: config.lifecycleNewDays, activeDays: config.lifecycleActiveDays, lapsedDays: config.lifecycleLapsedDays };
    // The projection resolved identity when it wrote: one indexed read of the person's ready row.
    const stored = await readStoredCustomer(readStore.db, q.customerId);
    if (stored !== undefined) return servedCustomer(stored, q.customerId, new Date(), rules) as ProfileView;
    // Rows written before the lookup existed (until they are next written or rebuilt), or an unknown
    // id: resolve identity per request. A merged or linked id resolves to the surviving person's profile.
    const identity = await resolveCustomer(readStore.db, q.customerId, config.identitySharedDeviceLimit);
    const profile = await getProfile(readStore.db, identity?.customerId ?? q.customerId);
    if (!profile) throw new CairnError(ERROR_CODES.NOT_FOUND, `no customer '${q.customerId}'`, { customerId: q.customerId });
    const now = new Date();
    const stage = lifecycleStage(profile, now, rules);
    return { ...toProfileView(profile, now), lifecycleStage: stage, identity };
  }
}
