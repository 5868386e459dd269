/** The webhook routes' request bodies (OpenAPI; the answers are in openapi/schemas.ts) and their parsers. */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CONSENT_PURPOSE_RULE, CairnError, ERROR_CODES, ID_PATTERN, isConsentPurpose } from '@cairn/domain';
import { WEBHOOK_KINDS, checkWebhookUrl, type WebhookKind, type WebhookUrlPolicy } from '@cairn/projections';

/** Kinds the issue names whose sources Cairn does not produce yet (a 400 says so). */
export const KINDS_WITHOUT_SOURCE = ['tier.changed', 'points.earned', 'points.expiring', 'customer.lapsed'];

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
}

export class ResendRangeRequestDto {
  @ApiProperty({ description: 'Deliveries queued at or after this instant (ISO 8601)' }) from!: string;
  @ApiProperty({ description: 'and before this one' }) to!: string;
}

const invalid = (field: string, message: string) => new CairnError(ERROR_CODES.VALIDATION, `${field} ${message}`, { fields: [{ field, message }] });

/** Checks a registration body; the URL against the policy and what its name resolves to now. */
export async function parseRegistration(body: unknown, policy: WebhookUrlPolicy): Promise<{ url: string; kinds: WebhookKind[]; segmentId?: string; requiresConsent?: string }> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid('body', 'must be a JSON object');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (!['url', 'kinds', 'segmentId', 'requiresConsent'].includes(k)) throw invalid(k, 'is not a field of a webhook');
  if (b.requiresConsent !== undefined && b.requiresConsent !== null && !isConsentPurpose(b.requiresConsent)) throw invalid('requiresConsent', CONSENT_PURPOSE_RULE);
  const problem = typeof b.url === 'string' ? await checkWebhookUrl(b.url, policy) : 'is required (a URL)';
  if (problem) throw invalid('url', problem);
  if (!Array.isArray(b.kinds) || b.kinds.length === 0) throw invalid('kinds', `must be a non-empty list of ${WEBHOOK_KINDS.join(', ')}`);
  for (const [i, k] of b.kinds.entries()) {
    if (KINDS_WITHOUT_SOURCE.includes(k as string)) throw invalid(`kinds[${i}]`, `${String(k)} has no source in Cairn yet (see docs/webhooks.md); available: ${WEBHOOK_KINDS.join(', ')}`);
    if (!(WEBHOOK_KINDS as readonly unknown[]).includes(k)) throw invalid(`kinds[${i}]`, `must be one of ${WEBHOOK_KINDS.join(', ')}`);
  }
  if (b.segmentId !== undefined && b.segmentId !== null && (typeof b.segmentId !== 'string' || !ID_PATTERN.test(b.segmentId))) throw invalid('segmentId', 'must be a segment id');
  return {
    url: b.url as string,
    kinds: [...new Set(b.kinds as WebhookKind[])],
    ...(typeof b.segmentId === 'string' ? { segmentId: b.segmentId.toLowerCase() } : {}),
    ...(typeof b.requiresConsent === 'string' ? { requiresConsent: b.requiresConsent } : {}),
  };
}

export function parseWebhookId(value: unknown): string {
  if (typeof value !== 'string' || !/^wh_[0-9a-f]{32}$/.test(value)) throw invalid('id', 'must be a webhook id returned by POST /v1/webhooks');
  return value;
}
