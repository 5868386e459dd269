import { Body, Controller, Get, HttpCode, Inject, Put } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CairnError, ERROR_CODES, parseProgramChange, type ProgramVersion } from '@cairn/domain';
import { RequireScope } from '../../auth/auth.guard';
import { Audited, resultId } from '../../audit/audit';
import { LoyaltyReader } from '../loyalty.reader';
import { PutProgramCommand, type ProgramDefined } from './put-program.command';
import { ApiAnswer, ApiConflict, ApiJsonBody } from '../../openapi/openapi';

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
    const { program, effectiveFrom } = parseProgramChange(body);
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
