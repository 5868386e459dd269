import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { createWebhook, type Webhook } from '@cairn/projections';
import { RequireScope } from '../../auth/auth.guard';
import { Audited, resultId } from '../../audit/audit';
import { ApiAnswer } from '../../openapi/openapi';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { RegisterWebhookRequestDto, parseRegistration } from '../webhooks.dto';

@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('v1/webhooks')
export class RegisterWebhookHttpController {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  @Post()
  @HttpCode(201)
  @RequireScope('admin')
  @Audited('webhook.registered', { resultTargets: resultId('webhookId') })
  @ApiOperation({ summary: 'Register an endpoint for event kinds (optionally one segment); the signing secret is in this answer only' })
  @ApiBody({ type: RegisterWebhookRequestDto })
  @ApiAnswer(201, 'RegisteredWebhook', { description: 'The endpoint, with its signing secret shown only here' })
  async register(@Body() body: unknown): Promise<
    Webhook & {
      /** The signing secret (Standard Webhooks, whsec_…): shown only in this answer. */
      secret: string;
    }
  > {
    const def = await parseRegistration(body, this.runtime.config.webhookUrls);
    if (def.segmentId !== undefined) {
      const segment = await this.runtime.readStore.db.selectFrom('segments').select('segment_id').where('segment_id', '=', def.segmentId).where('deleted', '=', 0).executeTakeFirst();
      if (!segment) throw new CairnError(ERROR_CODES.VALIDATION, 'segmentId names no segment', { fields: [{ field: 'segmentId', message: 'no such segment (GET /v1/segments lists them)' }] });
    }
    const { webhook, secret } = await createWebhook(this.runtime.readStore, def, new Date());
    return { ...webhook, secret };
  }
}
