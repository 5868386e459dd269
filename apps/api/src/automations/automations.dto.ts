/** The automation routes' request and response bodies (OpenAPI), shared by their controllers. */
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
}

export class AutomationDto extends DefineAutomationRequestDto {
  @ApiProperty() id!: string;
  @ApiProperty() version!: number;
  @ApiProperty() createdAt!: string;
  @ApiProperty() updatedAt!: string;
}

export class AutomationListDto {
  @ApiProperty({ type: [AutomationDto] }) items!: AutomationDto[];
}

class RedemptionDto {
  @ApiProperty() orderId!: string;
  @ApiProperty() eventId!: string;
  @ApiProperty() occurredAt!: string;
  @ApiProperty() totalMinor!: number;
  @ApiProperty() currency!: string;
}

export class VoucherDto {
  @ApiProperty({ example: 'WB-7Q2X-KD4M-H9PA' }) code!: string;
  @ApiProperty() customerId!: string;
  @ApiProperty() issuedAt!: string;
  @ApiProperty() expiresAt!: string;
  @ApiProperty({ type: VoucherValueDto }) value!: VoucherValueDto;
  @ApiPropertyOptional({ type: RedemptionDto, nullable: true, description: 'The purchase that redeemed it (its couponCode), null while unused' }) redeemedBy!: RedemptionDto | null;
}

export class VoucherListDto {
  @ApiProperty({ type: [VoucherDto] }) items!: VoucherDto[];
}

class WinBackGroupDto {
  @ApiProperty() customers!: number;
  @ApiProperty({ description: 'Bought between the trigger and the end of the validity window' }) won!: number;
  @ApiPropertyOptional({ nullable: true }) rate!: number | null;
}
class WinBackDto {
  @ApiProperty({ type: WinBackGroupDto }) withVoucher!: WinBackGroupDto;
  @ApiProperty({ type: WinBackGroupDto }) holdout!: WinBackGroupDto;
}

export class AutomationMetricsDto {
  @ApiProperty() vouchersIssued!: number;
  @ApiProperty() vouchersRedeemed!: number;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'number' }, description: 'Totals of the redeeming orders per currency, minor units' }) redeemingRevenueMinor!: Record<string, number>;
  @ApiProperty({ description: 'Uses of an issued code that did not redeem it (second use, another customer, outside validity)' }) flaggedUses!: number;
  @ApiProperty({ type: WinBackDto }) winBack!: WinBackDto;
}

class FieldErrorDto {
  @ApiProperty() field!: string;
  @ApiProperty() message!: string;
}
class ErrorDetailDto {
  @ApiProperty({ example: 'CAIRN.VALIDATION' }) code!: string;
  @ApiProperty() message!: string;
  @ApiPropertyOptional({ type: [FieldErrorDto] }) fields?: FieldErrorDto[];
}
export class AutomationErrorDto {
  @ApiProperty({ type: ErrorDetailDto }) error!: ErrorDetailDto;
}

export const AUTOMATION_ERRORS = [
  { status: 400, type: AutomationErrorDto, description: 'Invalid input: `fields` names the field' },
  { status: 401, type: AutomationErrorDto, description: 'No valid API key' },
  { status: 403, type: AutomationErrorDto, description: 'The key lacks the scope' },
  { status: 404, type: AutomationErrorDto, description: 'No such automation' },
];

export function parseAutomationId(value: unknown): string {
  if (typeof value !== 'string' || !/^[0-9a-f-]{36}$/i.test(value)) {
    throw badParam('id', 'must be an automation id returned by POST /v1/automations');
  }
  return value.toLowerCase();
}
