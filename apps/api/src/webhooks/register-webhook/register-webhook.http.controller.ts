import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { createWebhook } from '@cairn/projections';
import { RequireScope } from '../../auth/auth.guard';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { RegisterWebhookRequestDto, RegisteredWebhookDto, WEBHOOK_ERRORS, parseRegistration } from '../webhooks.dto';

@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('v1/webhooks')
export class RegisterWebhookHttpController {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  @Post()
  @HttpCode(201)
  @RequireScope('admin')
  @ApiOperation({ summary: 'Register an endpoint for event kinds (optionally one segment); the signing secret is in this answer only' })
  @ApiBody({ type: RegisterWebhookRequestDto })
  @ApiResponse({ status: 201, type: RegisteredWebhookDto })
  @ApiResponse(WEBHOOK_ERRORS[0]!)
  @ApiResponse(WEBHOOK_ERRORS[1]!)
  @ApiResponse(WEBHOOK_ERRORS[2]!)
  async register(@Body() body: unknown): Promise<RegisteredWebhookDto> {
    const def = await parseRegistration(body, this.runtime.config.webhookUrls);
    if (def.segmentId !== undefined) {
      const segment = await this.runtime.readStore.db.selectFrom('segments').select('segment_id').where('segment_id', '=', def.segmentId).where('deleted', '=', 0).executeTakeFirst();
      if (!segment) throw new CairnError(ERROR_CODES.VALIDATION, 'segmentId names no segment', { fields: [{ field: 'segmentId', message: 'no such segment (GET /v1/segments lists them)' }] });
    }
    const { webhook, secret } = await createWebhook(this.runtime.readStore, def, new Date());
    return { ...webhook, secret };
  }
}
