import { CanActivate, ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { KeyRing, type Scope } from '@cairn/runtime';
import { RUNTIME, type CairnRuntime } from '../runtime';

const SCOPE_KEY = 'cairn:scope';
/** The scope a route needs; routes without it are public (health, metrics, docs). */
export const RequireScope = (scope: Scope) => SetMetadata(SCOPE_KEY, scope);

/** `Authorization: Bearer <key>`: 401 without a valid key, 403 when the key lacks the scope. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(RUNTIME) private readonly runtime: CairnRuntime,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const scope = this.reflector.getAllAndOverride<Scope | undefined>(SCOPE_KEY, [context.getHandler(), context.getClass()]);
    if (scope === undefined) return true;
    const req = context.switchToHttp().getRequest<Request>();
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw new CairnError(ERROR_CODES.UNAUTHENTICATED, 'missing API key: send Authorization: Bearer <key>');
    const key = this.runtime.keys.find(match[1]);
    if (!key) throw new CairnError(ERROR_CODES.UNAUTHENTICATED, 'unknown API key');
    if (!KeyRing.allows(key, scope)) throw new CairnError(ERROR_CODES.FORBIDDEN, `this key lacks the '${scope}' scope`);
    return true;
  }
}
