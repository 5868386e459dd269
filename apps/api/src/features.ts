/**
 * Feature modules of the API, one per area (each owns its use-case folders: controllers, handlers,
 * DTOs). Add a feature by adding its module here.
 */
import type { Type } from '@nestjs/common';
import { AdminModule } from './admin/admin.module';
import { AnalyticsModule } from './analytics/analytics.module';
import { AutomationsModule } from './automations/automations.module';
import { ConsoleModule } from './console/console.module';
import { LoyaltyModule } from './loyalty/loyalty.module';
import { IdentityModule } from './identity/identity.module';
import { PrivacyModule } from './privacy/privacy.module';
import { RfmModule } from './rfm/rfm.module';
import { SegmentIngestModule } from './segment-ingest/segment-ingest.module';
import { SegmentsModule } from './segments/segments.module';
import { WebhooksModule } from './webhooks/webhooks.module';

export const FEATURE_MODULES: Type<unknown>[] = [IdentityModule, RfmModule, SegmentsModule, LoyaltyModule, AdminModule, AnalyticsModule, SegmentIngestModule, WebhooksModule, AutomationsModule, ConsoleModule, PrivacyModule];
