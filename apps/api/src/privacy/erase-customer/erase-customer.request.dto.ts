import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CairnError, ERROR_CODES, ID_PATTERN, ID_RULE, type FieldError } from '@cairn/domain';
import { ERASURE_REASONS, type ErasureReason } from '../erasures';

export class EraseCustomerRequestDto {
  @ApiPropertyOptional({ description: 'The customer to forget (with every id linked to them). Give this or anonymousId.' }) customerId?: string;
  @ApiPropertyOptional({ description: 'A visitor to forget (their person, when the visitor is linked to a customer). Give this or customerId.' }) anonymousId?: string;
  @ApiProperty({ enum: ERASURE_REASONS, description: 'Why: a fixed list, so the record stays free of personal data' }) reason!: ErasureReason;
  @ApiPropertyOptional({ description: "The shop's own reference, e.g. a ticket id (an id: letters, digits and _ . : + -, no email addresses)" }) reference?: string;
}

export interface EraseCustomerRequest {
  readonly subject: { readonly customerId: string } | { readonly anonymousId: string };
  readonly reason: ErasureReason;
  readonly reference: string | null;
}

const REFERENCE = /^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,127}$/;

/** Validates the body; 400 naming every offending field. */
export function parseEraseRequest(body: unknown): EraseCustomerRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new CairnError(ERROR_CODES.VALIDATION, 'the body must be a JSON object', { fields: [{ field: '', message: 'expected { customerId | anonymousId, reason, reference? }' }] });
  }
  const b = body as Record<string, unknown>;
  const fields: FieldError[] = [];
  for (const k of Object.keys(b)) if (!['customerId', 'anonymousId', 'reason', 'reference'].includes(k)) fields.push({ field: k, message: 'is not a field of an erasure request' });
  const given = (['customerId', 'anonymousId'] as const).filter((f) => b[f] !== undefined && b[f] !== null);
  if (given.length !== 1) fields.push({ field: 'customerId', message: 'give exactly one of customerId and anonymousId' });
  for (const f of given) if (typeof b[f] !== 'string' || !ID_PATTERN.test(b[f] as string)) fields.push({ field: f, message: ID_RULE });
  if (typeof b.reason !== 'string' || !(ERASURE_REASONS as readonly string[]).includes(b.reason)) fields.push({ field: 'reason', message: `must be one of ${ERASURE_REASONS.join(', ')}` });
  if (b.reference !== undefined && b.reference !== null && (typeof b.reference !== 'string' || !REFERENCE.test(b.reference)))
    fields.push({ field: 'reference', message: 'must be an id of 1–128 letters, digits and _ . : + - (no free text: the record must stay free of personal data)' });
  if (fields.length > 0) throw new CairnError(ERROR_CODES.VALIDATION, `invalid erasure request: ${fields[0]!.field} ${fields[0]!.message}`, { fields });
  const field = given[0]!;
  return {
    subject: field === 'customerId' ? { customerId: b.customerId as string } : { anonymousId: b.anonymousId as string },
    reason: b.reason as ErasureReason,
    reference: typeof b.reference === 'string' ? b.reference : null,
  };
}
