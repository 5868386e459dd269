import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { Profile } from '@cairn/domain';

/** A profile as served over HTTP: the fold's internal state stays inside. */
export class ProfileView {
  @ApiProperty() customerId!: string;
  @ApiProperty() firstSeenAt!: string;
  @ApiProperty() lastSeenAt!: string;
  @ApiProperty() views!: number;
  @ApiProperty() orders!: number;
  @ApiProperty({ description: 'Base currency of the money fields' }) currency!: string;
  @ApiProperty() grossMinor!: number;
  @ApiProperty() refundedMinor!: number;
  @ApiProperty() netMinor!: number;
  @ApiPropertyOptional({ nullable: true }) aovMinor!: number | null;
  @ApiPropertyOptional({ nullable: true }) lastOrder!: { orderId: string; occurredAt: string; totalMinor: number; currency: string } | null;
  @ApiProperty() reviews!: number;
  @ApiPropertyOptional({ nullable: true }) averageRating!: number | null;
  @ApiProperty() referralsMade!: number;
  @ApiProperty({ type: [String] }) channels!: string[];
  @ApiProperty({ type: 'object', additionalProperties: true }) otherCurrencies!: Record<string, unknown>;
}

export function toProfileView(p: Profile): ProfileView {
  const { state: _state, lastOrder, ...rest } = p;
  return {
    ...rest,
    channels: [...p.channels],
    lastOrder: lastOrder ? { orderId: lastOrder.orderId, occurredAt: lastOrder.occurredAt, totalMinor: lastOrder.totalMinor, currency: lastOrder.currency } : null,
  } as ProfileView;
}
