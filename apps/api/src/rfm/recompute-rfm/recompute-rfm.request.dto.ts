import { ApiPropertyOptional } from '@nestjs/swagger';
import { CairnError, ERROR_CODES, type FieldError } from '@cairn/domain';

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

export class RecomputeRfmRequestDto {
  @ApiPropertyOptional({ description: 'ISO 8601 instant with offset; default now' }) asOf?: string;
  @ApiPropertyOptional({ description: '1–3650 days; default CAIRN_RFM_WINDOW_DAYS (365)' }) windowDays?: number;
}

export function parseRecomputeRequest(body: unknown, now: Date): { asOf: Date; windowDays: number | undefined } {
  const b = body === undefined || body === null ? {} : body;
  if (typeof b !== 'object' || Array.isArray(b)) {
    throw new CairnError(ERROR_CODES.VALIDATION, 'the body must be a JSON object', { fields: [{ field: '', message: 'expected { asOf?, windowDays? }' }] });
  }
  const r = b as Record<string, unknown>;
  const fields: FieldError[] = [];
  let asOf = now;
  if (r.asOf !== undefined) {
    if (typeof r.asOf !== 'string' || !ISO_WITH_OFFSET.test(r.asOf) || Number.isNaN(Date.parse(r.asOf))) fields.push({ field: 'asOf', message: 'must be an ISO 8601 date-time with an offset' });
    else asOf = new Date(r.asOf);
  }
  if (r.windowDays !== undefined && (!Number.isInteger(r.windowDays) || (r.windowDays as number) < 1 || (r.windowDays as number) > 3650)) {
    fields.push({ field: 'windowDays', message: 'must be an integer from 1 to 3650' });
  }
  if (fields.length > 0) throw new CairnError(ERROR_CODES.VALIDATION, 'invalid RFM request', { fields });
  return { asOf, windowDays: r.windowDays as number | undefined };
}
