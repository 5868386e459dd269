import { Controller, Get, Inject, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { AutomationMetrics } from '@cairn/domain';
import { getAutomation, listVouchers, metricsOf, type VoucherView } from '@cairn/projections';
import { RequireScope } from '../../auth/auth.guard';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { AUTOMATION_ERRORS, AutomationMetricsDto, VoucherListDto, parseAutomationId } from '../automations.dto';

@ApiTags('automations')
@ApiBearerAuth()
@Controller('v1/automations')
@ApiResponse(AUTOMATION_ERRORS[0]!)
@ApiResponse(AUTOMATION_ERRORS[1]!)
@ApiResponse(AUTOMATION_ERRORS[2]!)
@ApiResponse(AUTOMATION_ERRORS[3]!)
export class GetAutomationResultsHttpController {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  @Get(':id/vouchers')
  @RequireScope('read')
  @ApiOperation({ summary: "A rule's vouchers, each with the purchase that redeemed it" })
  @ApiResponse({ status: 200, type: VoucherListDto })
  async vouchers(@Param('id') id: string): Promise<{ items: VoucherView[] }> {
    const automation = await getAutomation(this.runtime.readStore.db, parseAutomationId(id));
    return { items: await listVouchers(this.runtime.readStore.db, automation.id) };
  }

  @Get(':id/metrics')
  @RequireScope('read')
  @ApiOperation({ summary: 'Vouchers issued and redeemed, revenue of redeeming orders, win-back rate against the hold-out' })
  @ApiResponse({ status: 200, type: AutomationMetricsDto })
  async metrics(@Param('id') id: string): Promise<AutomationMetrics> {
    const automation = await getAutomation(this.runtime.readStore.db, parseAutomationId(id));
    return metricsOf(this.runtime.readStore.db, automation.id);
  }
}
