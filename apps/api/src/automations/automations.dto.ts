/** The automation routes' request body (OpenAPI; the answers are in openapi/schemas.ts) and id parser. */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { badParam } from '../http-params';

class VoucherValueDto {
  @ApiProperty({ enum: ['percent', 'fixed'] }) kind!: string;
  @ApiPropertyOptional({ description: 'percent: 1–100' }) percent?: number;
  @ApiPropertyOptional({ description: 'fixed: integer minor units' }) amountMinor?: number;
  @ApiPropertyOptional({ description: 'fixed: ISO 4217' }) currency?: string;
}

export class DefineAutomationRequestDto {
  @ApiProperty({ example: 'Win back lapsed customers' }) name!: string;
  @ApiProperty({ description: 'Trigger: the customer enters this segment (for win-back, a segment on lifecycleStage = lapsed)' }) segmentId!: string;
  @ApiProperty({ type: VoucherValueDto, example: { kind: 'percent', percent: 15 } }) voucher!: VoucherValueDto;
  @ApiProperty({ description: 'Days the voucher is valid', example: 30 }) validDays!: number;
  @ApiProperty({ description: 'At most one voucher (or hold-out) per customer within this many days', example: 90 }) oncePerDays!: number;
  @ApiPropertyOptional({ description: 'Share of triggered customers kept as a hold-out (0–50 %), for the win-back rate', example: 10 }) holdoutPercent?: number;
  @ApiPropertyOptional({
    description: "A consent purpose the customer must have granted at the trigger's instant; otherwise the trigger is recorded as withheld (no voucher, no hold-out). Absent: consent is not checked (docs/automations.md).",
    example: 'email_marketing',
  })
  requiresConsent?: string;
}

export function parseAutomationId(value: unknown): string {
  if (typeof value !== 'string' || !/^[0-9a-f-]{36}$/i.test(value)) {
    throw badParam('id', 'must be an automation id returned by POST /v1/automations');
  }
  return value.toLowerCase();
}
