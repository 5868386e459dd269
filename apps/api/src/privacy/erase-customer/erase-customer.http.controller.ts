import { Body, Controller, Inject, Post, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Actor, Audited, bodyIds, resultId, type AuditActor } from '../../audit/audit';
import { RequireScope } from '../../auth/auth.guard';
import { ApiAnswer } from '../../openapi/openapi';
import type { ErasureRecord } from '../erasures';
import { EraseCustomerCommand } from './erase-customer.command';
import { EraseCustomerRequestDto, parseEraseRequest } from './erase-customer.request.dto';

@ApiTags('privacy')
@ApiBearerAuth()
@Controller('v1/privacy/erasures')
export class EraseCustomerHttpController {
  constructor(@Inject(CommandBus) private readonly commands: CommandBus) {}

  @Post()
  @RequireScope('admin')
  @Audited('privacy.erased', { targets: bodyIds('customerId', 'anonymousId'), resultTargets: resultId('erasureId', 'erasureId') })
  @ApiOperation({
    summary: 'Forget a person: destroy the data keys of every id of theirs (right to be forgotten, docs/privacy.md)',
    description:
      'Every personal value of theirs (identify traits, review texts, return reasons, user agents) becomes unreadable in the log, the exports and the timelines; events and every figure stay. ' +
      'Answers the PII-free erasure record (201), or the earlier record when every id is already erased (200). 404 for an id Cairn has never seen.',
  })
  @ApiBody({ type: EraseCustomerRequestDto })
  @ApiAnswer(201, 'ErasureRecord', { description: 'Erased' })
  @ApiAnswer(200, 'ErasureRecord', { description: 'Already erased: the record that did it' })
  async erase(@Body() body: unknown, @Actor() actor: AuditActor, @Res({ passthrough: true }) res: Response): Promise<ErasureRecord> {
    const request = parseEraseRequest(body);
    const { record, created } = await this.commands.execute(new EraseCustomerCommand(request, actor.keyName, new Date()));
    res.status(created ? 201 : 200);
    return record;
  }
}
