import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiProperty, ApiTags } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsOptional, IsString, Length } from 'class-validator';
import type { RebuildStatus } from '@cairn/projections';
import { RequireScope } from '../../auth/auth.guard';
import { Audited, bodyIds, resultId } from '../../audit/audit';
import { validBody } from '../operations';
import { StartRebuildCommand } from './start-rebuild.command';
import { ERROR_CODES } from '@cairn/domain';
import { ApiAnswer, ApiConflict } from '../../openapi/openapi';

export class StartRebuildRequestDto {
  @ApiProperty({ isArray: true, type: String, description: "projection names, or ['all']" })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @Length(1, 100, { each: true })
  projections!: string[];
  @ApiProperty({ required: false, description: 'keep the old rows as <table>__old_<stamp> tables' }) @IsOptional() @IsBoolean() keepOld?: boolean;
  @ApiProperty({ required: false, description: 'stop at the first event a projection cannot fold (default: park it, report it and go on)' }) @IsOptional() @IsBoolean() strict?: boolean;
}

@ApiTags('admin')
@ApiBearerAuth()
@Controller('v1/admin/rebuilds')
export class StartRebuildHttpController {
  constructor(@Inject(CommandBus) private readonly commands: CommandBus) {}

  /**
   * Starts (or resumes) a rebuild into shadow tables; answers 202 at once with the job. Poll
   * GET /v1/admin/rebuilds/{id}. 409 CAIRN.OPERATION_CONFLICT when one of them is already rebuilding.
   */
  @Post()
  @HttpCode(202)
  @RequireScope('admin')
  @Audited('rebuild.started', { targets: bodyIds('projections'), resultTargets: resultId('rebuildId') })
  @ApiAnswer(202, 'RebuildStatus')
  @ApiBody({ type: StartRebuildRequestDto })
  @ApiConflict(ERROR_CODES.OPERATION_CONFLICT)
  start(@Body() body: unknown): Promise<RebuildStatus> {
    const dto = validBody(StartRebuildRequestDto, body, 'rebuild request');
    return this.commands.execute(new StartRebuildCommand(dto.projections, dto.keepOld ?? false, dto.strict ?? false));
  }
}
