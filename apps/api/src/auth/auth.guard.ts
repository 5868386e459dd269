import { CanActivate, ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { KeyStore, type AuthenticatedKey, type Scope } from '@cairn/runtime';
import { RUNTIME, type CairnRuntime } from '../runtime';

export const SCOPE_KEY = 'cairn:scope';
/**
 * The scope a route needs; routes without it are public (health, metrics, docs). Every route's
 * scope is listed in docs/api-keys.md and checked by route-scopes.unit.spec.ts.
 */
export const RequireScope = (scope: Scope) => SetMetadata(SCOPE_KEY, scope);
export const BASIC_AUTH_KEY = 'cairn:basic-auth';
/** The route also takes the key as the user of `Authorization: Basic` (Segment's write key, as its SDKs send it). */
export const AllowBasicAuth = () => SetMetadata(BASIC_AUTH_KEY, true);

const REQUEST_KEY = Symbol('cairn:key');
/** The key that authenticated this request (set by AuthGuard on routes with a scope), if any. */
export function requestKey(req: object): AuthenticatedKey | undefined {
  return (req as { [REQUEST_KEY]?: AuthenticatedKey })[REQUEST_KEY];
}

/** The key of a Basic credential: its user part (`base64(key:)`), as Segment and RudderStack SDKs send their write key. */
function basicUser(header: string): string | null {
  const m = /^Basic\s+([A-Za-z0-9+/=]{1,1024})\s*$/i.exec(header);
  if (!m) return null;
  const user = Buffer.from(m[1], 'base64').toString('utf8').split(':')[0] ?? '';
  return /^\S{1,512}$/.test(user) ? user : null;
}

/** `Authorization: Bearer <key>`: 401 without a valid key, 403 when the key lacks the scope. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(RUNTIME) private readonly runtime: CairnRuntime,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const scope = this.reflector.getAllAndOverride<Scope | undefined>(SCOPE_KEY, [context.getHandler(), context.getClass()]);
    if (scope === undefined) return true;
    const req = context.switchToHttp().getRequest<Request>();
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S{1,512})\s*$/i.exec(header) : null;
    const basic = !match && typeof header === 'string' && this.reflector.get<boolean | undefined>(BASIC_AUTH_KEY, context.getHandler()) ? basicUser(header) : null;
    if (!match && basic === null) throw new CairnError(ERROR_CODES.UNAUTHENTICATED, 'missing API key: send Authorization: Bearer <key>');
    const key = await this.runtime.keys.find(match ? match[1] : basic!);
    if (!key) throw new CairnError(ERROR_CODES.UNAUTHENTICATED, 'unknown, revoked or expired API key');
    if (!KeyStore.allows(key, scope)) throw new CairnError(ERROR_CODES.FORBIDDEN, `this key lacks the '${scope}' scope`);
    // Who did it, for the audit log (apps/api/src/audit) and any handler that records the actor.
    (req as unknown as { [REQUEST_KEY]: AuthenticatedKey })[REQUEST_KEY] = key;
    return true;
  }
}
