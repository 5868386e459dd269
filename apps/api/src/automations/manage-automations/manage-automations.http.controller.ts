import { Controller, Delete, Get, HttpCode, Inject, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { deleteAutomation, getAutomation, listAutomations, type Automation } from '@cairn/projections';
import { RequireScope } from '../../auth/auth.guard';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { AUTOMATION_ERRORS, AutomationDto, AutomationListDto, parseAutomationId } from '../automations.dto';

@ApiTags('automations')
@ApiBearerAuth()
@Controller('v1/automations')
@ApiResponse(AUTOMATION_ERRORS[0]!)
@ApiResponse(AUTOMATION_ERRORS[1]!)
@ApiResponse(AUTOMATION_ERRORS[2]!)
export class ManageAutomationsHttpController {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'Every automation rule (latest version)' })
  @ApiResponse({ status: 200, type: AutomationListDto })
  async list(): Promise<{ items: Automation[] }> {
    return { items: await listAutomations(this.runtime.readStore.db) };
  }

  @Get(':id')
  @RequireScope('read')
  @ApiOperation({ summary: 'One automation rule' })
  @ApiResponse({ status: 200, type: AutomationDto })
  @ApiResponse(AUTOMATION_ERRORS[3]!)
  get(@Param('id') id: string): Promise<Automation> {
    return getAutomation(this.runtime.readStore.db, parseAutomationId(id));
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScope('admin')
  @ApiOperation({ summary: 'Delete a rule (an event); vouchers already issued stay valid' })
  @ApiResponse({ status: 204, description: 'Deleted' })
  @ApiResponse(AUTOMATION_ERRORS[3]!)
  async remove(@Param('id') id: string): Promise<void> {
    await deleteAutomation(this.runtime.readStore, this.runtime.events, parseAutomationId(id), new Date());
  }
}
