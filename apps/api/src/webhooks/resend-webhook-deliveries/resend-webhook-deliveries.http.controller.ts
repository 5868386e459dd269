import { Body, Controller, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { getWebhook, resendDeliveries, webhookDb } from '@cairn/projections';
import { RequireScope } from '../../auth/auth.guard';
import { Audited } from '../../audit/audit';
import { badParam } from '../../http-params';
import { ApiAnswer, ApiNoBody } from '../../openapi/openapi';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { WebhooksService } from '../webhooks.service';
import { ResendRangeRequestDto, parseWebhookId } from '../webhooks.dto';

interface Resent {
  /** Deliveries queued again. */
  resent: number;
}

const instant = (v: unknown, field: string): string => {
  if (typeof v !== 'string' || !/^\d{4}-\d\d-\d\dT/.test(v) || Number.isNaN(Date.parse(v))) throw badParam(field, 'must be an ISO 8601 instant');
  return new Date(v).toISOString();
};

@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('v1/webhooks')
export class ResendWebhookDeliveriesHttpController {
  constructor(
    @Inject(RUNTIME) private readonly runtime: CairnRuntime,
    private readonly webhooks: WebhooksService,
  ) {}

  @Post(':id/deliveries/:deliveryId/resend')
  @HttpCode(202)
  @RequireScope('admin')
  @Audited('webhook.resent')
  @ApiOperation({ summary: 'Queue one delivery again (same webhook-id); its retry window starts again' })
  @ApiNoBody()
  @ApiAnswer(202, 'Resent')
  async one(@Param('id') id: string, @Param('deliveryId') deliveryId: string): Promise<Resent> {
    const webhookId = await this.existing(id);
    if (!/^msg_[0-9a-f]{32}$/.test(deliveryId)) throw badParam('deliveryId', 'must be a delivery id (msg_…)');
    const resent = await resendDeliveries(this.runtime.readStore.db, webhookId, { deliveryId }, new Date());
    if (resent === 0) {
      const held = await webhookDb(this.runtime.readStore.db).selectFrom('webhook_deliveries').select('withheld_reason').where('id', '=', deliveryId).where('webhook_id', '=', webhookId).where('status', '=', 'withheld').executeTakeFirst();
      if (held) {
        const message = `was withheld (${held.withheld_reason ?? 'consent'}): a withheld delivery is never sent`;
        throw new CairnError(ERROR_CODES.VALIDATION, `deliveryId ${message}`, { fields: [{ field: 'deliveryId', message }] });
      }
      throw new CairnError(ERROR_CODES.NOT_FOUND, `no delivery ${deliveryId} of webhook ${id}`);
    }
    this.webhooks.deliveries.nudge();
    return { resent };
  }

  @Post(':id/resend')
  @HttpCode(202)
  @RequireScope('admin')
  @Audited('webhook.resent')
  @ApiOperation({ summary: 'Queue again every delivery queued in [from, to)' })
  @ApiBody({ type: ResendRangeRequestDto })
  @ApiAnswer(202, 'Resent')
  async range(@Param('id') id: string, @Body() body: unknown): Promise<Resent> {
    const webhookId = await this.existing(id);
    const b = (body ?? {}) as Record<string, unknown>;
    const from = instant(b.from, 'from');
    const to = instant(b.to, 'to');
    if (to <= from) throw badParam('to', 'must be after from');
    const resent = await resendDeliveries(this.runtime.readStore.db, webhookId, { from, to }, new Date());
    this.webhooks.deliveries.nudge();
    return { resent };
  }

  private async existing(id: string): Promise<string> {
    const webhookId = parseWebhookId(id);
    if (!(await getWebhook(this.runtime.readStore.db, webhookId))) throw new CairnError(ERROR_CODES.NOT_FOUND, `no webhook ${id}`);
    return webhookId;
  }
}
