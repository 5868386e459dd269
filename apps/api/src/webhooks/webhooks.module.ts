import { Module } from '@nestjs/common';
import { ListWebhookDeliveriesHttpController } from './list-webhook-deliveries/list-webhook-deliveries.http.controller';
import { ManageWebhooksHttpController } from './manage-webhooks/manage-webhooks.http.controller';
import { RegisterWebhookHttpController } from './register-webhook/register-webhook.http.controller';
import { ResendWebhookDeliveriesHttpController } from './resend-webhook-deliveries/resend-webhook-deliveries.http.controller';
import { WebhooksService } from './webhooks.service';

/** Signed webhooks: endpoints, the outbox and its delivery worker (docs/webhooks.md). */
@Module({
  controllers: [RegisterWebhookHttpController, ManageWebhooksHttpController, ListWebhookDeliveriesHttpController, ResendWebhookDeliveriesHttpController],
  providers: [WebhooksService],
})
export class WebhooksModule {}
