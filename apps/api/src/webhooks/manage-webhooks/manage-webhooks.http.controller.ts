import { Controller, Delete, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { deleteWebhook, enableWebhook, getWebhook, listWebhooks } from '@cairn/projections';
import { RequireScope } from '../../auth/auth.guard';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { WebhooksService } from '../webhooks.service';
import { NOT_FOUND, WEBHOOK_ERRORS, WebhookDto, WebhookListDto, parseWebhookId } from '../webhooks.dto';

const notFound = (id: string) => new CairnError(ERROR_CODES.NOT_FOUND, `no webhook ${id}`);

@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('v1/webhooks')
@ApiResponse(WEBHOOK_ERRORS[0]!)
@ApiResponse(WEBHOOK_ERRORS[1]!)
@ApiResponse(WEBHOOK_ERRORS[2]!)
export class ManageWebhooksHttpController {
  constructor(
    @Inject(RUNTIME) private readonly runtime: CairnRuntime,
    private readonly webhooks: WebhooksService,
  ) {}

  @Get()
  @RequireScope('admin')
  @ApiOperation({ summary: 'Every registered endpoint (never its secret)' })
  @ApiResponse({ status: 200, type: WebhookListDto })
  async list(): Promise<WebhookListDto> {
    return { items: await listWebhooks(this.runtime.readStore.db) };
  }

  @Get(':id')
  @RequireScope('admin')
  @ApiOperation({ summary: 'One endpoint: its kinds, filter and status (disabled after a 410, with the reason)' })
  @ApiResponse({ status: 200, type: WebhookDto })
  @ApiResponse(NOT_FOUND)
  async get(@Param('id') id: string): Promise<WebhookDto> {
    const w = await getWebhook(this.runtime.readStore.db, parseWebhookId(id));
    if (!w) throw notFound(id);
    return w;
  }

  @Post(':id/enable')
  @HttpCode(200)
  @RequireScope('admin')
  @ApiOperation({ summary: 'Enable an endpoint again (a 410 disabled it); its pending deliveries resume' })
  @ApiResponse({ status: 200, type: WebhookDto })
  @ApiResponse(NOT_FOUND)
  async enable(@Param('id') id: string): Promise<WebhookDto> {
    const w = await enableWebhook(this.runtime.readStore.db, parseWebhookId(id));
    if (!w) throw notFound(id);
    this.webhooks.deliveries.nudge();
    return w;
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScope('admin')
  @ApiOperation({ summary: 'Remove an endpoint with its deliveries' })
  @ApiResponse({ status: 204, description: 'Removed' })
  @ApiResponse(NOT_FOUND)
  async remove(@Param('id') id: string): Promise<void> {
    if (!(await deleteWebhook(this.runtime.readStore, parseWebhookId(id)))) throw notFound(id);
  }
}
