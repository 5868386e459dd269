import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { getWebhook, listDeliveries, type DeliveryView } from '@cairn/projections';
import { RequireScope } from '../../auth/auth.guard';
import { badParam, parseCursor, parseLimit } from '../../http-params';
import { ApiAnswer } from '../../openapi/openapi';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { parseWebhookId } from '../webhooks.dto';

@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('v1/webhooks')
export class ListWebhookDeliveriesHttpController {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  @Get(':id/deliveries')
  @RequireScope('admin')
  @ApiOperation({ summary: "An endpoint's deliveries in log order, each with every attempt (status code, latency, error)" })
  @ApiQuery({ name: 'status', required: false, enum: ['pending', 'delivered', 'dead', 'withheld'], description: 'withheld: for lack of the consent the endpoint requires; never sent' })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'limit', required: false, description: '1–500, default 100' })
  @ApiAnswer(200, 'DeliveryPage')
  async list(
    @Param('id') id: string,
    @Query('status') status: unknown,
    @Query('cursor') cursor: unknown,
    @Query('limit') limit: unknown,
  ): Promise<{
    items: DeliveryView[];
    /** Pass as ?cursor= for the next page; null on the last one. */
    nextCursor: string | null;
  }> {
    const webhookId = parseWebhookId(id);
    if (status !== undefined && !['pending', 'delivered', 'dead', 'withheld'].includes(status as string)) throw badParam('status', 'must be pending, delivered, dead or withheld');
    const after = parseCursor(cursor);
    if (after !== undefined && !/^\d{20}$/.test(after)) throw badParam('cursor', 'must be a nextCursor of this list');
    if (!(await getWebhook(this.runtime.readStore.db, webhookId))) throw new CairnError(ERROR_CODES.NOT_FOUND, `no webhook ${id}`);
    return listDeliveries(this.runtime.readStore.db, webhookId, { ...(status ? { status: status as string } : {}), ...(after ? { after } : {}), limit: parseLimit(limit, 500) });
  }
}
