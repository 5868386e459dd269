import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CairnError, ERROR_CODES, type FieldError } from '@cairn/domain';

const ID = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;

export class MergeCustomersRequestDto {
  @ApiProperty({ description: 'The customer whose id survives' }) survivorId!: string;
  @ApiProperty({ description: 'The customer folded into the survivor' }) mergedId!: string;
  @ApiPropertyOptional({ maxLength: 500 }) reason?: string;
}

/** Validates the body; 400 naming every offending field. */
export function parseMergeRequest(body: unknown): MergeCustomersRequestDto {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new CairnError(ERROR_CODES.VALIDATION, 'the body must be a JSON object', { fields: [{ field: '', message: 'expected { survivorId, mergedId, reason? }' }] });
  }
  const b = body as Record<string, unknown>;
  const fields: FieldError[] = [];
  for (const f of ['survivorId', 'mergedId'] as const) {
    if (typeof b[f] !== 'string' || !ID.test(b[f] as string)) fields.push({ field: f, message: 'must be a customer id (1–128 letters, digits and _ . : @ -)' });
  }
  if (b.reason !== undefined && (typeof b.reason !== 'string' || b.reason.length > 500)) fields.push({ field: 'reason', message: 'must be a string of at most 500 characters' });
  if (fields.length === 0 && b.survivorId === b.mergedId) fields.push({ field: 'mergedId', message: 'must differ from survivorId' });
  if (fields.length > 0) throw new CairnError(ERROR_CODES.VALIDATION, 'invalid merge request', { fields });
  return { survivorId: b.survivorId as string, mergedId: b.mergedId as string, ...(b.reason !== undefined ? { reason: b.reason as string } : {}) };
}
