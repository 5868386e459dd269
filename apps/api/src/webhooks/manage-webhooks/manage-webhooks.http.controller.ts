import { Controller, Delete, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiNoContentResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { deleteWebhook, enableWebhook, getWebhook, listWebhooks, type Webhook } from '@cairn/projections';
import { RequireScope } from '../../auth/auth.guard';
import { Audited } from '../../audit/audit';
import { ApiAnswer, ApiNoBody } from '../../openapi/openapi';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { WebhooksService } from '../webhooks.service';
import { parseWebhookId } from '../webhooks.dto';

const notFound = (id: string) => new CairnError(ERROR_CODES.NOT_FOUND, `no webhook ${id}`);

@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('v1/webhooks')
export class ManageWebhooksHttpController {
  constructor(
    @Inject(RUNTIME) private readonly runtime: CairnRuntime,
    private readonly webhooks: WebhooksService,
  ) {}

  @Get()
  @RequireScope('admin')
  @ApiOperation({ summary: 'Every registered endpoint (never its secret)' })
  @ApiAnswer(200, 'WebhookList')
  async list(): Promise<{ items: Webhook[] }> {
    return { items: await listWebhooks(this.runtime.readStore.db) };
  }

  @Get(':id')
  @RequireScope('admin')
  @ApiOperation({ summary: 'One endpoint: its kinds, filter and status (disabled after a 410, with the reason)' })
  @ApiAnswer(200, 'Webhook')
  async get(@Param('id') id: string): Promise<Webhook> {
    const w = await getWebhook(this.runtime.readStore.db, parseWebhookId(id));
    if (!w) throw notFound(id);
    return w;
  }

  @Post(':id/enable')
  @HttpCode(200)
  @RequireScope('admin')
  @Audited('webhook.enabled')
  @ApiOperation({ summary: 'Enable an endpoint again (a 410 disabled it); its pending deliveries resume' })
  @ApiNoBody()
  @ApiAnswer(200, 'Webhook')
  async enable(@Param('id') id: string): Promise<Webhook> {
    const w = await enableWebhook(this.runtime.readStore.db, parseWebhookId(id));
    if (!w) throw notFound(id);
    this.webhooks.deliveries.nudge();
    return w;
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScope('admin')
  @Audited('webhook.deleted')
  @ApiOperation({ summary: 'Remove an endpoint with its deliveries' })
  @ApiNoContentResponse({ description: 'Removed (no body)' })
  async remove(@Param('id') id: string): Promise<void> {
    if (!(await deleteWebhook(this.runtime.readStore, parseWebhookId(id)))) throw notFound(id);
  }
}
