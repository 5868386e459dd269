import { randomUUID } from 'crypto';
import { Body, Controller, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { CairnError, ERROR_CODES, type FieldError } from '@cairn/domain';
import { RequireScope } from '../../auth/auth.guard';
import { parseMinPosition } from '../../read-your-writes';
import { RedeemCommand, type Redeemed } from './redeem.command';
import { ApiAnswer, ApiConflict, ApiJsonBody } from '../../openapi/openapi';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Body: `{ "points": 500, "reference"?: "order-123", "id"?: UUID (idempotency key) }`. */
export function parseRedeem(body: unknown): { id: string; points: number; reference: string | undefined } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new CairnError(ERROR_CODES.VALIDATION, 'the body must be an object { points, reference?, id? }', { fields: [{ field: '(body)', message: 'must be an object' }] });
  }
  const b = body as Record<string, unknown>;
  const fields: FieldError[] = [];
  for (const k of Object.keys(b)) if (!['points', 'reference', 'id'].includes(k)) fields.push({ field: k, message: 'unknown field' });
  if (typeof b.points !== 'number' || !Number.isSafeInteger(b.points) || b.points < 1) fields.push({ field: 'points', message: 'must be a positive integer' });
  if (b.reference !== undefined && (typeof b.reference !== 'string' || b.reference.length === 0 || b.reference.length > 200)) fields.push({ field: 'reference', message: 'must be a string of 1 to 200 characters' });
  if (b.id !== undefined && (typeof b.id !== 'string' || !UUID.test(b.id))) fields.push({ field: 'id', message: 'must be a UUID' });
  if (fields.length > 0) throw new CairnError(ERROR_CODES.VALIDATION, `invalid redemption: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}`, { fields });
  return { id: (b.id as string | undefined)?.toLowerCase() ?? randomUUID(), points: b.points as number, reference: b.reference as string | undefined };
}

@ApiTags('loyalty')
@ApiBearerAuth()
@Controller('v1/loyalty')
export class RedeemHttpController {
  constructor(@Inject(CommandBus) private readonly commands: CommandBus) {}

  @Post(':customerId/redemptions')
  @HttpCode(201)
  @RequireScope('loyalty:write')
  @ApiOperation({ summary: 'Redeem points: never overspends under concurrency; 409 CAIRN.INSUFFICIENT_POINTS with the available balance' })
  @ApiQuery({ name: 'minPosition', required: false, description: 'Wait until the read models include this log position (409 CAIRN.STALE_READ after CAIRN_READ_WAIT_MS)' })
  @ApiAnswer(201, 'Redeemed')
  @ApiJsonBody('RedeemRequest')
  @ApiConflict(ERROR_CODES.INSUFFICIENT_POINTS, ERROR_CODES.STREAM_CONFLICT)
  async redeem(@Param('customerId') customerId: string, @Body() body: unknown, @Query('minPosition') minPosition: unknown): Promise<Redeemed> {
    const r = parseRedeem(body);
    return this.commands.execute(new RedeemCommand(customerId, r.id, r.points, r.reference, parseMinPosition(minPosition)));
  }
}
