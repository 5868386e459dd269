/** A customer id resolved to its person for the customer reads, or CAIRN.NOT_FOUND when Cairn has never seen it. */
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { resolveCustomer, type ResolvedCustomer } from '@cairn/projections';
import { getProfile } from '@cairn/read-models';
import type { CairnRuntime } from '../runtime';

export async function knownCustomer(runtime: CairnRuntime, requested: string): Promise<{ customerId: string; identity: ResolvedCustomer | null }> {
  const { readStore, config } = runtime;
  const identity = await resolveCustomer(readStore.db, requested, config.identitySharedDeviceLimit);
  const customerId = identity?.customerId ?? requested;
  if (!identity && !(await getProfile(readStore.db, customerId))) throw new CairnError(ERROR_CODES.NOT_FOUND, `no customer '${requested}'`, { customerId: requested });
  return { customerId, identity };
}
