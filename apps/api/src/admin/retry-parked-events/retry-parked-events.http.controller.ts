import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiProperty, ApiTags } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsOptional, IsString, Length } from 'class-validator';
import type { RetryResult } from '@cairn/projections';
import { RequireScope } from '../../auth/auth.guard';
import { Audited, bodyIds } from '../../audit/audit';
import { validBody } from '../operations';
import { RetryParkedEventsCommand } from './retry-parked-events.command';
import { ApiAnswer } from '../../openapi/openapi';

export class RetryParkedEventsRequestDto {
  @ApiProperty({ required: false, description: 'only this projection (default: all)' }) @IsOptional() @IsString() @Length(1, 100) projection?: string;
  @ApiProperty({ required: false, isArray: true, type: String, description: 'only these event ids (default: all parked)' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10_000)
  @IsString({ each: true })
  eventIds?: string[];
}

@ApiTags('admin')
@ApiBearerAuth()
@Controller('v1/admin/parked/retry')
export class RetryParkedEventsHttpController {
  constructor(@Inject(CommandBus) private readonly commands: CommandBus) {}

  /** Applies parked events again (after a fix); those still failing stay parked with the new error. */
  @Post()
  @HttpCode(200)
  @RequireScope('admin')
  @Audited('parked.retried', { targets: bodyIds('projection', 'eventIds') })
  @ApiAnswer(200, 'RetryResults')
  @ApiBody({ type: RetryParkedEventsRequestDto, required: false })
  retry(@Body() body: unknown): Promise<{ results: RetryResult[] }> {
    const dto = validBody(RetryParkedEventsRequestDto, body, 'retry request');
    return this.commands.execute(new RetryParkedEventsCommand(dto.projection, dto.eventIds));
  }
}
