/**
 * The audit log: every admin and privacy action, as events in the stream `cairn-audit` of the
 * append-only log, with the API key (id and name) that did it. PII-free by construction: an audit
 * event holds the action's stable name, the key, instants, the route pattern, the status, and
 * target ids (route parameters and ids a route names explicitly), never a request body or query.
 *
 * Each audited request is two events:
 * - `cairn.audit.requested.v1`, appended BEFORE the action runs. If it cannot be appended the
 *   action is not performed: the client gets 503 CAIRN.UNAVAILABLE (with Retry-After) and can
 *   retry safely. So no admin action ever happens without a durable record of who asked for it.
 * - `cairn.audit.completed.v1`, appended after it (success or failure, with the status code). If
 *   this one cannot be appended the action has already happened: the answer is given as usual (a
 *   503 would invite a retry, creating a second key or starting a second rebuild), the failure is
 *   logged at error level, and the audit shows the action with outcome `unknown`.
 *
 * Audit events are not folded by any projection: the engine and replays decode only the ingest
 * catalogue and the identity commands (`toLogEvent`), and lag/head count only those
 * (`isFoldedEventType`), so an audit event never shows as lag.
 *
 * Usage in a controller (one line per route, after @RequireScope):
 *
 *   @Audited('privacy.erased', { targets: (req) => ({ customerId: req.body?.customerId }), resultTargets: (r) => ({ erasureId: r.id }) })
 *
 * Outside HTTP: `recordAudit(runtime, actor, action, details)` appends both events at once.
 */
import { randomUUID } from 'crypto';
import {
  CallHandler,
  ExecutionContext,
  Inject,
  Injectable,
  NestInterceptor,
  SetMetadata,
  createParamDecorator,
} from '@nestjs/common';
import { HTTP_CODE_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { Reflector } from '@nestjs/core';
import { FORWARDS, StreamNotFoundError, jsonEvent } from '@eventstore/db-client';
import type { Request, Response } from 'express';
import { from, lastValueFrom, type Observable } from 'rxjs';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { eventStoreUnavailable } from '@cairn/event-store';
import type { AuthenticatedKey } from '@cairn/runtime';
import { requestKey } from '../auth/auth.guard';
import { STATUS_BY_CODE } from '../errors/cairn-exception.filter';
import type { CairnRuntime } from '../runtime';
import { RUNTIME } from '../runtime';

export const AUDIT_STREAM = 'cairn-audit';
export const AUDIT_REQUESTED = 'cairn.audit.requested.v1';
export const AUDIT_COMPLETED = 'cairn.audit.completed.v1';

/** The stable action names (docs/audit.md). New ones are added here, never renamed. */
export const AUDIT_ACTIONS = [
  'api-key.created',
  'api-key.revoked',
  'api-key.rotated',
  'identity.merged',
  'identity.unmerged',
  'loyalty.program.changed',
  'loyalty.adjusted',
  'segment.defined',
  'segment.deleted',
  'automation.defined',
  'automation.changed',
  'automation.deleted',
  'webhook.registered',
  'webhook.changed',
  'webhook.enabled',
  'webhook.deleted',
  'webhook.resent',
  'rebuild.started',
  'replay.started',
  'parked.retried',
  'rfm.recomputed',
  'events.imported',
  'privacy.exported',
  'privacy.erased',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Who did it: the API key's id and name (for CAIRN_ADMIN_KEY: `config-admin` / `CAIRN_ADMIN_KEY`). */
export interface AuditActor {
  readonly keyId: string;
  readonly keyName: string;
}

/** Target ids by role (`keyId`, `customerId`, `segmentId`, …): strings of id characters only. */
export type AuditTargets = Record<string, string | readonly string[]>;

export interface AuditRequestedData {
  readonly auditId: string;
  readonly action: AuditAction;
  readonly actor: AuditActor;
  readonly at: string;
  readonly method: string;
  /** The route pattern (`/v1/admin/keys/:id`), never the query string. */
  readonly route: string;
  readonly targets: AuditTargets;
}

export interface AuditCompletedData {
  readonly auditId: string;
  readonly at: string;
  readonly outcome: 'succeeded' | 'failed';
  readonly statusCode: number;
  readonly errorCode: string | null;
  /** Ids known only once the action ran (the new key's id, the rebuild's id…). */
  readonly targets: AuditTargets;
}

/** The actor of a request a scoped route authenticated. */
export function actorOf(req: object): AuditActor {
  const key = requestKey(req);
  if (!key) throw new CairnError(ERROR_CODES.UNAUTHENTICATED, 'this action needs an API key');
  return actorOfKey(key);
}

export function actorOfKey(key: AuthenticatedKey): AuditActor {
  return { keyId: key.id, keyName: key.name };
}

/** `@Actor() actor: AuditActor` in a handler: the key that made the request (e.g. "who asked" of an erasure record). */
export const Actor = createParamDecorator((_: unknown, ctx: ExecutionContext): AuditActor => actorOf(ctx.switchToHttp().getRequest<Request>()));

const ID = /^[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,127}$/;
const EMAIL_LIKE = /[^@]@[^@]+\.[^@]+$/;
const MAX_VALUES = 100;

/** Keeps only id-shaped strings (and integers as strings): an audit event never carries free text. */
export function cleanTargets(raw: Record<string, unknown> | undefined | null): AuditTargets {
  const out: Record<string, string | string[]> = {};
  if (!raw || typeof raw !== 'object') return out;
  const one = (v: unknown): string | null => {
    if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
    // An id that looks like an email address is personal data: left out (docs/audit.md).
    return typeof v === 'string' && ID.test(v) && !EMAIL_LIKE.test(v) ? v : null;
  };
  for (const [k, v] of Object.entries(raw)) {
    if (!/^[A-Za-z][A-Za-z0-9]{0,63}$/.test(k)) continue;
    if (Array.isArray(v)) {
      const list = v.slice(0, MAX_VALUES).map(one).filter((x): x is string => x !== null);
      if (list.length > 0) out[k] = list;
    } else {
      const s = one(v);
      if (s !== null) out[k] = s;
    }
  }
  return out;
}

/** 503 naming the audit log: the action was not performed. */
function auditUnavailable(err: unknown): CairnError {
  const e = eventStoreUnavailable(err);
  return Object.assign(new CairnError(ERROR_CODES.UNAVAILABLE, 'the audit log is unavailable, so the action was not performed; retry', { component: 'auditLog' }), { cause: (e as { cause?: unknown }).cause ?? err });
}

async function appendAudit(runtime: CairnRuntime, events: readonly { id: string; type: string; data: object }[]): Promise<void> {
  await runtime.events.client.appendToStream(
    AUDIT_STREAM,
    events.map((e) => jsonEvent({ id: e.id, type: e.type, data: e.data as never })),
  );
}

/** Appends the `requested` event; 503 CAIRN.UNAVAILABLE when it cannot (do not perform the action then). */
export async function beginAudit(runtime: CairnRuntime, actor: AuditActor, action: AuditAction, details: { method?: string; route?: string; targets?: Record<string, unknown>; at?: Date } = {}): Promise<string> {
  const auditId = randomUUID();
  const data: AuditRequestedData = {
    auditId,
    action,
    actor: { keyId: actor.keyId, keyName: actor.keyName },
    at: (details.at ?? new Date()).toISOString(),
    method: details.method ?? 'INTERNAL',
    route: details.route ?? '',
    targets: cleanTargets(details.targets),
  };
  try {
    await appendAudit(runtime, [{ id: auditId, type: AUDIT_REQUESTED, data }]);
  } catch (err) {
    throw auditUnavailable(err);
  }
  return auditId;
}

/** Appends the `completed` event. Never throws: the action is done; a failure is logged (the audit then shows outcome unknown). */
export async function completeAudit(runtime: CairnRuntime, auditId: string, result: { statusCode: number; errorCode?: string | null; targets?: Record<string, unknown>; at?: Date }): Promise<void> {
  const data: AuditCompletedData = {
    auditId,
    at: (result.at ?? new Date()).toISOString(),
    outcome: result.statusCode < 400 ? 'succeeded' : 'failed',
    statusCode: result.statusCode,
    errorCode: result.errorCode ?? null,
    targets: cleanTargets(result.targets),
  };
  try {
    await appendAudit(runtime, [{ id: randomUUID(), type: AUDIT_COMPLETED, data }]);
  } catch (err) {
    runtime.logger.error({ err, auditId }, 'could not record the outcome of an audited action (it was performed; the audit log shows its outcome as unknown)');
  }
}

/**
 * One audited action done outside an HTTP route (a CLI command, a background job acting for an
 * admin): both events in one append. Throws 503 CAIRN.UNAVAILABLE when it cannot be appended.
 */
export async function recordAudit(
  runtime: CairnRuntime,
  actor: AuditActor,
  action: AuditAction,
  details: { targets?: Record<string, unknown>; statusCode?: number; errorCode?: string | null; method?: string; route?: string; at?: Date } = {},
): Promise<string> {
  const auditId = randomUUID();
  const at = (details.at ?? new Date()).toISOString();
  const statusCode = details.statusCode ?? 200;
  const requested: AuditRequestedData = { auditId, action, actor: { keyId: actor.keyId, keyName: actor.keyName }, at, method: details.method ?? 'INTERNAL', route: details.route ?? '', targets: cleanTargets(details.targets) };
  const completed: AuditCompletedData = { auditId, at, outcome: statusCode < 400 ? 'succeeded' : 'failed', statusCode, errorCode: details.errorCode ?? null, targets: {} };
  try {
    await appendAudit(runtime, [
      { id: auditId, type: AUDIT_REQUESTED, data: requested },
      { id: randomUUID(), type: AUDIT_COMPLETED, data: completed },
    ]);
  } catch (err) {
    throw auditUnavailable(err);
  }
  return auditId;
}

export const AUDIT_KEY = 'cairn:audit';

export interface AuditOptions {
  /** Target ids known from the request (route parameters are always taken). */
  readonly targets?: (req: Request) => Record<string, unknown> | undefined;
  /** Target ids from the handler's answer (e.g. the id of what it created). */
  readonly resultTargets?: (result: never) => Record<string, unknown> | undefined;
}

/** `targets` of @Audited: these fields of the JSON body (only id-shaped values are kept). */
export function bodyIds(...fields: string[]): (req: Request) => Record<string, unknown> {
  return (req) => {
    const b = req.body as Record<string, unknown> | undefined;
    const out: Record<string, unknown> = {};
    if (b && typeof b === 'object' && !Array.isArray(b)) for (const f of fields) if (Object.prototype.hasOwnProperty.call(b, f)) out[f] = b[f];
    return out;
  };
}

/** `resultTargets` of @Audited: the answer's `field` (default `id`) recorded as `as`. */
export function resultId(as: string, field = 'id'): (result: never) => Record<string, unknown> {
  return (result) => ({ [as]: (result as Record<string, unknown> | null)?.[field] });
}

/** Records the route's calls in the audit log as `action` (AuditInterceptor, registered for every route). */
export const Audited = (action: AuditAction, options: AuditOptions = {}) => SetMetadata(AUDIT_KEY, { action, options });

function statusOfError(err: unknown): { statusCode: number; errorCode: string | null } {
  if (err instanceof CairnError) return { statusCode: STATUS_BY_CODE[err.code] ?? 500, errorCode: err.code };
  const status = (err as { getStatus?: () => number })?.getStatus?.();
  if (typeof status === 'number') return { statusCode: status, errorCode: null };
  return { statusCode: 500, errorCode: 'CAIRN.INTERNAL' };
}

function safely<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

/** Whether the handler writes the response itself (`@Res()`): its status is then res.statusCode. */
function usesRes(ctx: ExecutionContext): boolean {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, ctx.getClass(), ctx.getHandler().name) ?? {}) as Record<string, unknown>;
  return Object.keys(args).some((k) => k.startsWith(`${RouteParamtypes.RESPONSE}:`));
}

/**
 * The interceptor behind @Audited: the `requested` event before the handler (503 and no action
 * when it fails), the `completed` event after it (its status, or the error's), before the answer
 * is sent — so a client that got the answer finds the action's outcome in GET /v1/admin/audit.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    @Inject(RUNTIME) private readonly runtime: CairnRuntime,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const meta = this.reflector.get<{ action: AuditAction; options: AuditOptions } | undefined>(AUDIT_KEY, ctx.getHandler());
    if (!meta || ctx.getType() !== 'http') return next.handle();
    const req = ctx.switchToHttp().getRequest<Request>();
    const res = ctx.switchToHttp().getResponse<Response>();
    const run = async (): Promise<unknown> => {
      const route = `${req.baseUrl ?? ''}${(req.route as { path?: string } | undefined)?.path ?? req.path}`;
      const targets = { ...(req.params ?? {}), ...(safely(() => meta.options.targets?.(req)) ?? {}) };
      const auditId = await beginAudit(this.runtime, actorOf(req), meta.action, { method: req.method, route, targets });
      let result: unknown;
      try {
        result = await lastValueFrom(next.handle(), { defaultValue: undefined });
      } catch (err) {
        await completeAudit(this.runtime, auditId, statusOfError(err));
        throw err;
      }
      const declared = this.reflector.get<number | undefined>(HTTP_CODE_METADATA, ctx.getHandler());
      const statusCode = usesRes(ctx) ? res.statusCode : (declared ?? (req.method === 'POST' ? 201 : 200));
      const more = result === undefined ? undefined : safely(() => meta.options.resultTargets?.(result as never));
      await completeAudit(this.runtime, auditId, { statusCode, targets: more });
      return result;
    };
    return from(run());
  }
}

// ---------------------------------------------------------------------------------------------
// The read model: `audit_log`, copied from the stream on each read (from its checkpoint on).

const CHECKPOINT = 'audit';
const PAGE = 500;

/**
 * Copies audit events after the checkpoint into `audit_log`. Idempotent, so concurrent readers (or
 * API processes on one PostgreSQL store) can run it together: rows are inserted if absent, a
 * completion sets the outcome, the checkpoint only moves forward.
 */
export async function catchUpAuditLog(runtime: CairnRuntime): Promise<void> {
  const db = runtime.readStore.db;
  for (;;) {
    const cp = await db.selectFrom('audit_checkpoint').select('revision').where('name', '=', CHECKPOINT).executeTakeFirst();
    const fromRevision = cp ? BigInt(cp.revision) + 1n : 0n;
    const page: { revision: bigint; type: string; data: unknown }[] = [];
    try {
      for await (const r of runtime.events.client.readStream(AUDIT_STREAM, { direction: FORWARDS, fromRevision, maxCount: PAGE })) {
        if (r.event) page.push({ revision: r.event.revision, type: r.event.type, data: r.event.data });
      }
    } catch (err) {
      if (err instanceof StreamNotFoundError) return;
      throw eventStoreUnavailable(err);
    }
    if (page.length === 0) return;
    const last = Number(page[page.length - 1]!.revision);
    await runtime.readStore.transaction(async (trx) => {
      for (const e of page) {
        if (e.type === AUDIT_REQUESTED) {
          const d = e.data as AuditRequestedData;
          await trx
            .insertInto('audit_log')
            .values({
              audit_id: d.auditId,
              seq: Number(e.revision),
              action: d.action,
              actor_key_id: d.actor.keyId,
              actor_key_name: d.actor.keyName,
              at: d.at,
              method: d.method,
              route: d.route,
              targets: JSON.stringify(d.targets ?? {}),
              outcome: null,
              status_code: null,
              error_code: null,
              completed_at: null,
            })
            .onConflict((oc) => oc.doNothing())
            .execute();
        } else if (e.type === AUDIT_COMPLETED) {
          const d = e.data as AuditCompletedData;
          const row = await trx.selectFrom('audit_log').select('targets').where('audit_id', '=', d.auditId).executeTakeFirst();
          if (!row) continue;
          const targets = { ...(JSON.parse(row.targets) as AuditTargets), ...(d.targets ?? {}) };
          await trx
            .updateTable('audit_log')
            .set({ outcome: d.outcome, status_code: d.statusCode, error_code: d.errorCode, completed_at: d.at, targets: JSON.stringify(targets) })
            .where('audit_id', '=', d.auditId)
            .execute();
        }
      }
      await trx
        .insertInto('audit_checkpoint')
        .values({ name: CHECKPOINT, revision: last })
        .onConflict((oc) => oc.column('name').doUpdateSet({ revision: last }).where('audit_checkpoint.revision', '<', last))
        .execute();
    });
    if (page.length < PAGE) return;
  }
}

export interface AuditEntry {
  readonly id: string;
  readonly action: string;
  readonly actor: AuditActor;
  readonly at: string;
  readonly method: string;
  readonly route: string;
  readonly targets: AuditTargets;
  /** `unknown`: the action was requested (and may have run) but its completion was not recorded. */
  readonly outcome: 'succeeded' | 'failed' | 'unknown';
  readonly statusCode: number | null;
  readonly errorCode: string | null;
  readonly completedAt: string | null;
}

export interface AuditQuery {
  readonly after?: number;
  readonly limit: number;
  readonly action?: string;
  readonly actor?: string;
  readonly from?: string;
  readonly to?: string;
}

/** The cursor of a page: the `seq` of its last entry, opaque to clients. */
export function encodeAuditCursor(seq: number): string {
  return Buffer.from(`a${seq}`, 'utf8').toString('base64url');
}

export function decodeAuditCursor(cursor: string): number | null {
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(cursor)) return null;
  const m = /^a(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return m ? Number(m[1]) : null;
}

/** Newest first; keyset on `seq` (`after`: entries older than that cursor). */
export async function listAudit(runtime: CairnRuntime, q: AuditQuery): Promise<{ entries: AuditEntry[]; nextCursor: string | null }> {
  await catchUpAuditLog(runtime);
  let query = runtime.readStore.db.selectFrom('audit_log').selectAll();
  if (q.after !== undefined) query = query.where('seq', '<', q.after);
  if (q.action !== undefined) query = query.where('action', '=', q.action);
  if (q.actor !== undefined) query = query.where((eb) => eb.or([eb('actor_key_name', '=', q.actor!), eb('actor_key_id', '=', q.actor!)]));
  if (q.from !== undefined) query = query.where('at', '>=', q.from);
  if (q.to !== undefined) query = query.where('at', '<', q.to);
  const rows = await query.orderBy('seq', 'desc').limit(q.limit + 1).execute();
  const more = rows.length > q.limit;
  const page = rows.slice(0, q.limit);
  return {
    entries: page.map((r) => ({
      id: r.audit_id,
      action: r.action,
      actor: { keyId: r.actor_key_id, keyName: r.actor_key_name },
      at: r.at,
      method: r.method,
      route: r.route,
      targets: JSON.parse(r.targets) as AuditTargets,
      outcome: r.outcome === 'succeeded' || r.outcome === 'failed' ? r.outcome : 'unknown',
      statusCode: r.status_code === null ? null : Number(r.status_code),
      errorCode: r.error_code,
      completedAt: r.completed_at,
    })),
    nextCursor: more ? encodeAuditCursor(Number(page[page.length - 1]!.seq)) : null,
  };
}
