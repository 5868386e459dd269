import { Controller, Get, Inject, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AutomationMetrics } from '@cairn/domain';
import { getAutomation, listVouchers, metricsOf, type VoucherView } from '@cairn/projections';
import { RequireScope } from '../../auth/auth.guard';
import { ApiAnswer } from '../../openapi/openapi';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { parseAutomationId } from '../automations.dto';

@ApiTags('automations')
@ApiBearerAuth()
@Controller('v1/automations')
export class GetAutomationResultsHttpController {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  @Get(':id/vouchers')
  @RequireScope('read')
  @ApiOperation({ summary: "A rule's vouchers, each with the purchase that redeemed it" })
  @ApiAnswer(200, 'VoucherList')
  async vouchers(@Param('id') id: string): Promise<{ items: VoucherView[] }> {
    const automation = await getAutomation(this.runtime.readStore.db, parseAutomationId(id));
    return { items: await listVouchers(this.runtime.readStore.db, automation.id) };
  }

  @Get(':id/metrics')
  @RequireScope('read')
  @ApiOperation({ summary: 'Vouchers issued and redeemed, revenue of redeeming orders, win-back rate against the hold-out' })
  @ApiAnswer(200, 'AutomationMetrics')
  async metrics(@Param('id') id: string): Promise<AutomationMetrics> {
    const automation = await getAutomation(this.runtime.readStore.db, parseAutomationId(id));
    return metricsOf(this.runtime.readStore.db, automation.id);
  }
}
