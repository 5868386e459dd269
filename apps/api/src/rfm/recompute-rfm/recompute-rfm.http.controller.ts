import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { RfmRun } from '@cairn/projections';
import { RequireScope } from '../../auth/auth.guard';
import { Audited, resultId } from '../../audit/audit';
import { RecomputeRfmCommand } from './recompute-rfm.command';
import { RecomputeRfmRequestDto, parseRecomputeRequest } from './recompute-rfm.request.dto';
import { ApiAnswer } from '../../openapi/openapi';

@ApiTags('rfm')
@ApiBearerAuth()
@Controller('v1/rfm/runs')
export class RecomputeRfmHttpController {
  constructor(@Inject(CommandBus) private readonly commands: CommandBus) {}

  @Post()
  @HttpCode(201)
  @RequireScope('admin')
  @Audited('rfm.recomputed', { resultTargets: resultId('runId', 'runId') })
  @ApiOperation({ summary: 'Recompute RFM now (kept as a run in the history); answers the finished run' })
  @ApiBody({ type: RecomputeRfmRequestDto, required: false })
  @ApiAnswer(201, 'RfmRun')
  recompute(@Body() body: unknown): Promise<RfmRun> {
    const req = parseRecomputeRequest(body, new Date());
    return this.commands.execute(new RecomputeRfmCommand(req.asOf, req.windowDays));
  }
}
