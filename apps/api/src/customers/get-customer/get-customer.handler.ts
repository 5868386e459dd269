import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { getProfile } from '@cairn/read-models';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { toProfileView, type ProfileView } from '../profile.view';
import { awaitPosition } from '../read-your-writes';
import { GetCustomerQuery } from './get-customer.query';

@QueryHandler(GetCustomerQuery)
export class GetCustomerHandler implements IQueryHandler<GetCustomerQuery, { profile: ProfileView; stale: boolean }> {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  async execute(q: GetCustomerQuery): Promise<{ profile: ProfileView; stale: boolean }> {
    const stale = await awaitPosition(this.runtime, q.minPosition, q.allowStale);
    const profile = await getProfile(this.runtime.readStore.db, q.customerId);
    if (!profile) throw new CairnError(ERROR_CODES.NOT_FOUND, `no customer '${q.customerId}'`, { customerId: q.customerId });
    return { profile: toProfileView(profile), stale };
  }
}
