import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiProperty, ApiTags } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsISO8601, IsObject, IsOptional, IsString, Length } from 'class-validator';
import type { ReplayJobStatus } from '@cairn/projections';
import { RequireScope } from '../../auth/auth.guard';
import { Audited, resultId } from '../../audit/audit';
import { validBody } from '../operations';
import { StartReplayCommand } from './start-replay.command';
import { ApiAnswer } from '../../openapi/openapi';

export class StartReplayRequestDto {
  @ApiProperty({ isArray: true, type: String, required: false, description: 'projection names (default: all)' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @Length(1, 100, { each: true })
  projections?: string[];
  @ApiProperty({ required: false, description: 'business time: events that occurred at or before' }) @IsOptional() @IsISO8601({ strict: true }) asOf?: string;
  @ApiProperty({ required: false, description: 'recorded time: events Cairn had received by then' }) @IsOptional() @IsISO8601({ strict: true }) knownAt?: string;
  @ApiProperty({ required: false, description: 'what-if: rules merged over the live rules' }) @IsOptional() @IsObject() rules?: Record<string, unknown>;
}

@ApiTags('admin')
@ApiBearerAuth()
@Controller('v1/admin/replays')
export class StartReplayHttpController {
  constructor(@Inject(CommandBus) private readonly commands: CommandBus) {}

  /** Starts a replay into a scratch store (never the live read models); 202 with the job. Poll GET /v1/admin/replays/{id}. */
  @Post()
  @HttpCode(202)
  @RequireScope('admin')
  @Audited('replay.started', { resultTargets: resultId('replayId') })
  @ApiAnswer(202, 'ReplayStatus')
  @ApiBody({ type: StartReplayRequestDto })
  start(@Body() body: unknown): Promise<ReplayJobStatus> {
    const dto = validBody(StartReplayRequestDto, body, 'replay request');
    return this.commands.execute(new StartReplayCommand({ projections: dto.projections ?? [], asOf: dto.asOf, knownAt: dto.knownAt, rules: dto.rules }));
  }
}
