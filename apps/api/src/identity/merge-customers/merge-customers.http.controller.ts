import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../../auth/auth.guard';
import { Audited, bodyIds, resultId } from '../../audit/audit';
import { MergeCustomersCommand, type MergeResult } from './merge-customers.command';
import { MergeCustomersRequestDto, parseMergeRequest } from './merge-customers.request.dto';
import { ApiAnswer } from '../../openapi/openapi';

@ApiTags('identity')
@ApiBearerAuth()
@Controller('v1/identity/merges')
export class MergeCustomersHttpController {
  constructor(@Inject(CommandBus) private readonly commands: CommandBus) {}

  @Post()
  @HttpCode(201)
  @RequireScope('admin')
  @Audited('identity.merged', { targets: bodyIds('survivorId', 'mergedId'), resultTargets: resultId('mergeId', 'mergeId') })
  @ApiOperation({ summary: 'Merge two known customers (recorded as an event; DELETE /v1/identity/merges/:id reverses it)' })
  @ApiBody({ type: MergeCustomersRequestDto })
  @ApiAnswer(201, 'MergeResult')
  async merge(@Body() body: unknown): Promise<MergeResult> {
    const req = parseMergeRequest(body);
    return this.commands.execute(new MergeCustomersCommand(req.survivorId, req.mergedId, req.reason, new Date()));
  }
}
