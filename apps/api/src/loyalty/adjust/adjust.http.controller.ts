import { randomUUID } from 'crypto';
import { Body, Controller, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CairnError, ERROR_CODES, type FieldError } from '@cairn/domain';
import { RequireScope } from '../../auth/auth.guard';
import { Audited } from '../../audit/audit';
import { AdjustCommand, type Adjusted } from './adjust.command';
import { ApiAnswer, ApiConflict, ApiJsonBody } from '../../openapi/openapi';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Body: `{ "points": -250 | 100, "reason": "goodwill for late delivery", "id"?: UUID }`. */
export function parseAdjust(body: unknown): { id: string; points: number; reason: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new CairnError(ERROR_CODES.VALIDATION, 'the body must be an object { points, reason, id? }', { fields: [{ field: '(body)', message: 'must be an object' }] });
  }
  const b = body as Record<string, unknown>;
  const fields: FieldError[] = [];
  for (const k of Object.keys(b)) if (!['points', 'reason', 'id'].includes(k)) fields.push({ field: k, message: 'unknown field' });
  if (typeof b.points !== 'number' || !Number.isSafeInteger(b.points) || b.points === 0 || Math.abs(b.points) > 100_000_000) fields.push({ field: 'points', message: 'must be a non-zero integer (at most 100,000,000 either way)' });
  if (typeof b.reason !== 'string' || b.reason.trim() === '' || b.reason.length > 500) fields.push({ field: 'reason', message: 'must be a non-empty string of at most 500 characters' });
  if (b.id !== undefined && (typeof b.id !== 'string' || !UUID.test(b.id))) fields.push({ field: 'id', message: 'must be a UUID' });
  if (fields.length > 0) throw new CairnError(ERROR_CODES.VALIDATION, `invalid adjustment: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}`, { fields });
  return { id: (b.id as string | undefined)?.toLowerCase() ?? randomUUID(), points: b.points as number, reason: b.reason as string };
}

@ApiTags('loyalty')
@ApiBearerAuth()
@Controller('v1/loyalty')
export class AdjustHttpController {
  constructor(@Inject(CommandBus) private readonly commands: CommandBus) {}

  @Post(':customerId/adjustments')
  @HttpCode(201)
  @RequireScope('loyalty:write')
  @Audited('loyalty.adjusted')
  @ApiOperation({ summary: 'Manual points adjustment (signed) with its reason; shows as an `adjusted` movement' })
  @ApiAnswer(201, 'Adjusted')
  @ApiJsonBody('AdjustRequest')
  @ApiConflict(ERROR_CODES.STREAM_CONFLICT)
  async adjust(@Param('customerId') customerId: string, @Body() body: unknown): Promise<Adjusted> {
    const a = parseAdjust(body);
    return this.commands.execute(new AdjustCommand(customerId, a.id, a.points, a.reason));
  }
}
