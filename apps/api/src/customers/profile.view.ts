import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { consentAsOf, type ConsentView, type Profile } from '@cairn/domain';
import { publicProfile } from '@cairn/read-models';

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
  @ApiPropertyOptional({ nullable: true }) firstOrder!: { orderId: string; occurredAt: string; totalMinor: number; currency: string } | null;
  @ApiPropertyOptional({ nullable: true }) medianDaysBetweenOrders!: number | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) favouriteCategories!: Profile['favouriteCategories'];
  @ApiProperty({ type: 'object', additionalProperties: true }) returnRate!: Profile['returnRate'];
  @ApiProperty({ type: 'object', additionalProperties: true }) reviewStats!: Profile['reviewStats'];
  @ApiProperty({ type: 'object', additionalProperties: true }) referralStats!: Profile['referralStats'];
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      'Consent per purpose as of now: { status: granted|withdrawn, since, updatedAt, source, policyVersion, history: [{ status, occurredAt, source, policyVersion, eventId }] } (docs/privacy.md). A purpose never mentioned is absent, which counts as not granted.',
  })
  consent!: ConsentView;
  @ApiPropertyOptional({ enum: ['new', 'active', 'at_risk', 'lapsed'], description: 'As of now (GET /v1/customers/:id only)' }) lifecycleStage?: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, nullable: true, description: 'The person the id resolves to and every linked id (GET /v1/customers/:id only)' })
  identity?: unknown;
}

/** The served profile, consent as of `asOf` (a change dated later, up to 24 h ahead, does not count yet). */
export function toProfileView(p: Profile, asOf: Date = new Date()): ProfileView {
  return { ...(publicProfile(p) as ProfileView), consent: consentAsOf(p.state.consent, asOf) };
}
