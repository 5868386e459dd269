/** The webhook routes' request bodies (OpenAPI; the answers are in openapi/schemas.ts) and their parsers. */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CONSENT_PURPOSE_RULE, CairnError, ERROR_CODES, ID_PATTERN, isConsentPurpose } from '@cairn/domain';
import { WEBHOOK_KINDS, checkWebhookUrl, type WebhookKind, type WebhookUrlPolicy } from '@cairn/projections';


export class RegisterWebhookRequestDto {
  @ApiProperty({ example: 'https://hooks.shop.example/cairn', description: 'https (http and loopback only with CAIRN_WEBHOOK_URLS=dev); never link-local or metadata addresses' }) url!: string;
  @ApiProperty({ enum: WEBHOOK_KINDS, isArray: true, example: ['segment.entered', 'segment.exited'] }) kinds!: WebhookKind[];
  @ApiPropertyOptional({ description: 'Only changes of this segment (segment kinds; voucher.issued is not filtered)' }) segmentId?: string;
  @ApiPropertyOptional({
    example: 'email_marketing',
    description:
      'A consent purpose: a change about a person who had not granted it at the change\'s instant is withheld (recorded with status withheld, never sent). Absent: every change is sent, whatever the consent (docs/webhooks.md).',
  })
  requiresConsent?: string;
  @ApiPropertyOptional({ example: 'Gold', description: 'tier.changed only when the person moves from or to this tier (other kinds are not filtered by it)' }) tier?: string;
  @ApiPropertyOptional({ example: 7, minimum: 1, maximum: 365, description: 'points.expiring: announce an expiry this many days ahead (default 7)' }) expiringDays?: number;
}

export class ResendRangeRequestDto {
  @ApiProperty({ description: 'Deliveries queued at or after this instant (ISO 8601)' }) from!: string;
  @ApiProperty({ description: 'and before this one' }) to!: string;
}

const invalid = (field: string, message: string) => new CairnError(ERROR_CODES.VALIDATION, `${field} ${message}`, { fields: [{ field, message }] });

/** Checks a registration body; the URL against the policy and what its name resolves to now. */
export async function parseRegistration(body: unknown, policy: WebhookUrlPolicy): Promise<{ url: string; kinds: WebhookKind[]; segmentId?: string; requiresConsent?: string; tier?: string; expiringDays?: number }> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid('body', 'must be a JSON object');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (!['url', 'kinds', 'segmentId', 'requiresConsent', 'tier', 'expiringDays'].includes(k)) throw invalid(k, 'is not a field of a webhook');
  if (b.requiresConsent !== undefined && b.requiresConsent !== null && !isConsentPurpose(b.requiresConsent)) throw invalid('requiresConsent', CONSENT_PURPOSE_RULE);
  const problem = typeof b.url === 'string' ? await checkWebhookUrl(b.url, policy) : 'is required (a URL)';
  if (problem) throw invalid('url', problem);
  if (!Array.isArray(b.kinds) || b.kinds.length === 0) throw invalid('kinds', `must be a non-empty list of ${WEBHOOK_KINDS.join(', ')}`);
  for (const [i, k] of b.kinds.entries()) {
    if (!(WEBHOOK_KINDS as readonly unknown[]).includes(k)) throw invalid(`kinds[${i}]`, `must be one of ${WEBHOOK_KINDS.join(', ')}`);
  }
  if (b.segmentId !== undefined && b.segmentId !== null && (typeof b.segmentId !== 'string' || !ID_PATTERN.test(b.segmentId))) throw invalid('segmentId', 'must be a segment id');
  if (b.tier !== undefined && b.tier !== null && (typeof b.tier !== 'string' || b.tier.trim() === '' || b.tier.length > 100)) throw invalid('tier', 'must be a tier name of the loyalty program');
  if (b.expiringDays !== undefined && b.expiringDays !== null) {
    if (typeof b.expiringDays !== 'number' || !Number.isInteger(b.expiringDays) || b.expiringDays < 1 || b.expiringDays > 365) throw invalid('expiringDays', 'must be a whole number of days from 1 to 365');
    if (!(b.kinds as unknown[]).includes('points.expiring')) throw invalid('expiringDays', 'applies to points.expiring only: add it to kinds');
  }
  return {
    url: b.url as string,
    kinds: [...new Set(b.kinds as WebhookKind[])],
    ...(typeof b.segmentId === 'string' ? { segmentId: b.segmentId.toLowerCase() } : {}),
    ...(typeof b.requiresConsent === 'string' ? { requiresConsent: b.requiresConsent } : {}),
    ...(typeof b.tier === 'string' ? { tier: b.tier } : {}),
    ...(typeof b.expiringDays === 'number' ? { expiringDays: b.expiringDays } : {}),
  };
}

export function parseWebhookId(value: unknown): string {
  if (typeof value !== 'string' || !/^wh_[0-9a-f]{32}$/.test(value)) throw invalid('id', 'must be a webhook id returned by POST /v1/webhooks');
  return value;
}
