import { Body, Controller, Get, HttpCode, Inject, Put } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CairnError, ERROR_CODES, validateProgram, type FieldError, type LoyaltyProgram, type ProgramVersion } from '@cairn/domain';
import { RequireScope } from '../../auth/auth.guard';
import { Audited, resultId } from '../../audit/audit';
import { LoyaltyReader, parseAsOf } from '../loyalty.reader';
import { PutProgramCommand, type ProgramDefined } from './put-program.command';
import { ApiAnswer, ApiConflict, ApiJsonBody } from '../../openapi/openapi';

/** Body: `{ "program": {…}, "effectiveFrom"?: ISO instant }` (see docs/loyalty.md). */
export function parsePutProgram(body: unknown): { program: LoyaltyProgram; effectiveFrom: string | undefined } {
  const fields: FieldError[] = [];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new CairnError(ERROR_CODES.VALIDATION, 'the body must be an object { program, effectiveFrom? }', { fields: [{ field: '(body)', message: 'must be an object' }] });
  }
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (k !== 'program' && k !== 'effectiveFrom') fields.push({ field: k, message: 'unknown field' });
  let effectiveFrom: string | undefined;
  if (b.effectiveFrom !== undefined) {
    try {
      effectiveFrom = parseAsOf(b.effectiveFrom);
    } catch {
      fields.push({ field: 'effectiveFrom', message: 'must be an ISO-8601 instant with an offset' });
    }
  }
  const v = validateProgram(b.program);
  if (!v.ok) for (const e of v.errors) fields.push({ field: e.field === '(body)' ? 'program' : `program.${e.field}`, message: e.message });
  if (fields.length > 0 || !v.ok) throw new CairnError(ERROR_CODES.VALIDATION, `invalid loyalty program: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}`, { fields });
  return { program: v.program, effectiveFrom };
}

@ApiTags('loyalty')
@ApiBearerAuth()
@Controller('v1/loyalty/program')
export class PutProgramHttpController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(LoyaltyReader) private readonly reader: LoyaltyReader,
  ) {}

  @Put()
  @HttpCode(200)
  @RequireScope('admin')
  @Audited('loyalty.program.changed', { resultTargets: resultId('programVersion', 'version') })
  @ApiOperation({ summary: 'Define a new version of the loyalty program (400 naming the JSON path of each problem)' })
  @ApiAnswer(200, 'ProgramDefined')
  @ApiJsonBody('PutProgramRequest')
  @ApiConflict(ERROR_CODES.STREAM_CONFLICT)
  async put(@Body() body: unknown): Promise<ProgramDefined> {
    const { program, effectiveFrom } = parsePutProgram(body);
    return this.commands.execute(new PutProgramCommand(program, effectiveFrom, new Date()));
  }

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'Every version of the loyalty program' })
  @ApiAnswer(200, 'ProgramVersions')
  async get(): Promise<{ versions: readonly ProgramVersion[] }> {
    const { versions } = await this.reader.programs({ fresh: true });
    if (versions.length === 0) throw new CairnError(ERROR_CODES.NOT_FOUND, 'no loyalty program is defined yet: PUT /v1/loyalty/program');
    return { versions };
  }
}
