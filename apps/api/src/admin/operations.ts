/** What the admin use cases share: the runtime's operations (or 503) and request validation. */
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import type { CairnOperations, ProjectionRules } from '@cairn/projections';
import type { CairnRuntime } from '../runtime';

export function operationsOf(runtime: CairnRuntime): CairnOperations<ProjectionRules> {
  if (!runtime.operations) throw new CairnError(ERROR_CODES.UNAVAILABLE, 'projection operations are not available in this process');
  return runtime.operations;
}

/** Validates a body against a DTO class: CAIRN.VALIDATION with every field and its reason. */
export function validBody<T extends object>(cls: new () => T, body: unknown, what: string): T {
  if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
    throw new CairnError(ERROR_CODES.VALIDATION, `${what}: the body must be a JSON object`, { fields: [{ field: 'body', message: 'must be a JSON object' }] });
  }
  const dto = plainToInstance(cls, body ?? {});
  const errors = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) {
    const fields = errors.flatMap((e) => Object.values(e.constraints ?? {}).map((message) => ({ field: e.property, message })));
    throw new CairnError(ERROR_CODES.VALIDATION, `invalid ${what}`, { fields });
  }
  return dto;
}

/** JSON cannot carry bigint: positions travel as decimal strings. */
export function plain<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
}
