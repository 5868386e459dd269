import { Body, Controller, HttpCode, Inject, Param, Post, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CairnError, ERROR_CODES, parseAutomationBody, type AutomationRule } from '@cairn/domain';
import { defineAutomation, type Automation } from '@cairn/projections';
import { RequireScope } from '../../auth/auth.guard';
import { Audited, resultId } from '../../audit/audit';
import { ApiAnswer, ApiConflict } from '../../openapi/openapi';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { DefineAutomationRequestDto, parseAutomationId } from '../automations.dto';

@ApiTags('automations')
@ApiBearerAuth()
@Controller('v1/automations')
export class DefineAutomationHttpController {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  @Post()
  @HttpCode(201)
  @RequireScope('admin')
  @Audited('automation.defined', { resultTargets: resultId('automationId') })
  @ApiOperation({ summary: 'Define a rule: when a customer enters a segment, issue a voucher (stored as an event, version 1)' })
  @ApiBody({ type: DefineAutomationRequestDto })
  @ApiAnswer(201, 'Automation', { description: 'The rule, version 1' })
  async create(@Body() body: unknown): Promise<Automation> {
    return this.define(undefined, body);
  }

  @Put(':id')
  @RequireScope('admin')
  @Audited('automation.changed')
  @ApiOperation({ summary: 'Define the next version of a rule (applies to entries from now on)' })
  @ApiBody({ type: DefineAutomationRequestDto })
  @ApiAnswer(200, 'Automation', { description: 'The rule, its new version' })
  @ApiConflict(ERROR_CODES.STREAM_CONFLICT)
  async update(@Param('id') id: string, @Body() body: unknown): Promise<Automation> {
    return this.define(parseAutomationId(id), body);
  }

  private async define(id: string | undefined, body: unknown): Promise<Automation> {
    const rule: AutomationRule = parseAutomationBody(body);
    const segment = await this.runtime.readStore.db.selectFrom('segments').select('segment_id').where('segment_id', '=', rule.segmentId).where('deleted', '=', 0).executeTakeFirst();
    if (!segment) throw new CairnError(ERROR_CODES.VALIDATION, 'segmentId names no segment', { fields: [{ field: 'segmentId', message: 'no such segment (GET /v1/segments lists them)' }] });
    return defineAutomation(this.runtime.readStore, this.runtime.events, id, rule, new Date());
  }
}
