import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { WebhookDeliveries, WebhookOutbox, WebhookSignals } from '@cairn/projections';
import { LoyaltyReader } from '../loyalty/loyalty.reader';
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
  /** tier.changed, points.earned, points.expiring, customer.lapsed: derived as time passes (webhook-signals.ts). */
  readonly signals: WebhookSignals;

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
    const loyalty = new LoyaltyReader(runtime);
    this.signals = new WebhookSignals(runtime.readStore, {
      ledgers: (customerId, asOfs) => loyalty.ledgersAt(customerId, asOfs),
      lifecycle: { newDays: config.lifecycleNewDays, activeDays: config.lifecycleActiveDays, lapsedDays: config.lifecycleLapsedDays },
      intervalMs: config.webhookSignalsMs,
      onEnqueued: () => this.deliveries.nudge(),
      log,
    });
  }

  onApplicationBootstrap(): void {
    this.outbox.start();
    this.signals.start();
    this.deliveries.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.outbox.stop();
    await this.signals.stop();
    await this.deliveries.stop();
  }
}
