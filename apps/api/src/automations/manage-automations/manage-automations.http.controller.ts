import { Controller, Delete, Get, HttpCode, Inject, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiNoContentResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ERROR_CODES } from '@cairn/domain';
import { deleteAutomation, getAutomation, listAutomations, type Automation } from '@cairn/projections';
import { RequireScope } from '../../auth/auth.guard';
import { Audited } from '../../audit/audit';
import { ApiAnswer, ApiConflict } from '../../openapi/openapi';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { parseAutomationId } from '../automations.dto';

@ApiTags('automations')
@ApiBearerAuth()
@Controller('v1/automations')
export class ManageAutomationsHttpController {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'Every automation rule (latest version)' })
  @ApiAnswer(200, 'AutomationList')
  async list(): Promise<{ items: Automation[] }> {
    return { items: await listAutomations(this.runtime.readStore.db) };
  }

  @Get(':id')
  @RequireScope('read')
  @ApiOperation({ summary: 'One automation rule' })
  @ApiAnswer(200, 'Automation')
  get(@Param('id') id: string): Promise<Automation> {
    return getAutomation(this.runtime.readStore.db, parseAutomationId(id));
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScope('admin')
  @Audited('automation.deleted')
  @ApiOperation({ summary: 'Delete a rule (an event); vouchers already issued stay valid' })
  @ApiNoContentResponse({ description: 'Deleted (no body)' })
  @ApiConflict(ERROR_CODES.STREAM_CONFLICT)
  async remove(@Param('id') id: string): Promise<void> {
    await deleteAutomation(this.runtime.readStore, this.runtime.events, parseAutomationId(id), new Date());
  }
}
