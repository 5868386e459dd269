import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/auth.guard';
import { badParam, parseLimit } from '../http-params';
import { ApiAnswer } from '../openapi/openapi';
import { RUNTIME, type CairnRuntime } from '../runtime';
import { AUDIT_ACTIONS, decodeAuditCursor, listAudit, type AuditEntry } from './audit';

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

function instant(field: string, value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = typeof value === 'string' && INSTANT.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw badParam(field, 'must be an ISO 8601 instant with an offset (e.g. 2026-01-31T00:00:00Z)');
  return new Date(ms).toISOString();
}

/** The audit log: every admin and privacy action with the key that did it (docs/audit.md). */
@ApiTags('admin')
@ApiBearerAuth()
@Controller('v1/admin/audit')
export class ListAuditHttpController {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  @Get()
  @RequireScope('admin')
  @ApiOperation({ summary: 'Audited admin and privacy actions, newest first, with the API key that did each; keyset pages (?after=<nextCursor>)' })
  @ApiQuery({ name: 'after', required: false, description: 'nextCursor of the previous page: entries older than its last one' })
  @ApiQuery({ name: 'limit', required: false, description: 'entries per page, 1–500 (default 50)' })
  @ApiQuery({ name: 'action', required: false, enum: AUDIT_ACTIONS, description: 'only this action' })
  @ApiQuery({ name: 'actor', required: false, description: "only actions of this key (its name, or its id from GET /v1/admin/keys)" })
  @ApiQuery({ name: 'from', required: false, description: 'only actions requested at or after this instant (ISO 8601 with offset)' })
  @ApiQuery({ name: 'to', required: false, description: 'only actions requested before this instant (ISO 8601 with offset)' })
  @ApiAnswer(200, 'AuditPage')
  async list(@Query() q: Record<string, unknown>): Promise<{ entries: AuditEntry[]; nextCursor: string | null }> {
    const known = new Set(['after', 'limit', 'action', 'actor', 'from', 'to']);
    for (const k of Object.keys(q)) if (!known.has(k)) throw badParam(k, `is not a parameter of this route (expected ${[...known].join(', ')})`);
    let after: number | undefined;
    if (q.after !== undefined && q.after !== '') {
      const seq = typeof q.after === 'string' ? decodeAuditCursor(q.after) : null;
      if (seq === null) throw badParam('after', 'must be the nextCursor of a previous page');
      after = seq;
    }
    if (q.action !== undefined && (typeof q.action !== 'string' || !(AUDIT_ACTIONS as readonly string[]).includes(q.action))) {
      throw badParam('action', `must be one of ${AUDIT_ACTIONS.join(', ')}`);
    }
    if (q.actor !== undefined && (typeof q.actor !== 'string' || q.actor.length < 1 || q.actor.length > 100)) throw badParam('actor', 'must be a key name or id of 1–100 characters');
    const from = instant('from', q.from);
    const to = instant('to', q.to);
    if (from !== undefined && to !== undefined && from >= to) throw badParam('to', 'must be after from');
    return listAudit(this.runtime, {
      after,
      limit: parseLimit(q.limit, 500, 50),
      ...(q.action !== undefined ? { action: q.action as string } : {}),
      ...(q.actor !== undefined ? { actor: q.actor as string } : {}),
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
    });
  }
}
