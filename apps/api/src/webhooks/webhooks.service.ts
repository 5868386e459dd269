import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { WebhookDeliveries, WebhookOutbox } from '@cairn/projections';
import { RUNTIME, type CairnRuntime } from '../runtime';

/**
 * Runs the webhook outbox (enqueue, checkpointed) and the delivery worker in the API process
 * (`cairn start` and `cairn api`): both are I/O-bound. Several API processes on one PostgreSQL
 * read store are safe: the outbox cursor is guarded, each endpoint's queue is leased.
 */
@Injectable()
export class WebhooksService implements OnApplicationBootstrap, OnModuleDestroy {
  readonly deliveries: WebhookDeliveries;
  readonly outbox: WebhookOutbox;

  constructor(@Inject(RUNTIME) runtime: CairnRuntime) {
    const { config, logger } = runtime;
    const log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => logger[level](fields ?? {}, msg);
    this.deliveries = new WebhookDeliveries(runtime.readStore, {
      policy: config.webhookUrls,
      retryBaseMs: config.webhookRetryBaseMs,
      retryForMs: config.webhookRetryForMs,
      timeoutMs: config.webhookTimeoutMs,
      pollMs: config.webhookPollMs,
      log,
    });
    this.outbox = new WebhookOutbox(runtime.readStore, runtime.events, { onEnqueued: () => this.deliveries.nudge(), log });
  }

  onApplicationBootstrap(): void {
    this.outbox.start();
    this.deliveries.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.outbox.stop();
    await this.deliveries.stop();
  }
}
