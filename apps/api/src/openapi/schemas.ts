/**
 * The JSON answer of every operation (and the bodies parsed by hand rather than by a DTO), by the
 * name its OpenAPI schema has. The schemas are
 * generated from these TypeScript types (`npm run openapi:schemas` → schemas.json, checked
 * current by openapi.e2e.spec.ts), so the documentation is the type the controller returns, not a
 * hand-written copy. Where a controller returns `unknown`, the type is the one its handler builds.
 * A new operation adds its entry here and `@ApiAnswer(status, 'Name')` on its method
 * (`@ApiJsonBody('Name')` for a body).
 */
import type { LoyaltyProgram } from '@cairn/domain';
import type { ParkedEvent, RebuildStatus, ReplayJobStatus, RetryResult, SegmentDefinition, SegmentMembersPage } from '@cairn/projections';
import type { ApiKeysHttpController } from '../admin/api-keys/api-keys.http.controller';
import type { ListAuditHttpController } from '../audit/list-audit.http.controller';
import type { ListProjectionHealthHttpController } from '../admin/list-projection-health/list-projection-health.http.controller';
import type { CustomerValueHttpController } from '../analytics/customer-value.http.controller';
import type { MetricsHttpController as AnalyticsHttpController } from '../analytics/metrics.http.controller';
import type { ProfileView } from '../customers/profile.view';
import type { ErasureRecord } from '../privacy/erasures';
import type { CustomerDataExport } from '../privacy/export-customer-data/export-customer-data';
import type { ListCustomersHttpController } from '../customers/list-customers/list-customers.http.controller';
import type { HealthHttpController } from '../health/health.http.controller';
import type { MergeCustomersHttpController } from '../identity/merge-customers/merge-customers.http.controller';
import type { UnmergeCustomersHttpController } from '../identity/unmerge-customers/unmerge-customers.http.controller';
import type { ImportRecord } from '../ingest/import-events/import-events.command';
import type { RecordEventsResult } from '../ingest/record-events/record-events.command';
import type { AdjustHttpController } from '../loyalty/adjust/adjust.http.controller';
import type { ExplainHttpController } from '../loyalty/explain/explain.http.controller';
import type { GetLedgerHttpController } from '../loyalty/get-ledger/get-ledger.http.controller';
import type { GetLoyaltyHttpController } from '../loyalty/get-loyalty/get-loyalty.http.controller';
import type { PutProgramHttpController } from '../loyalty/put-program/put-program.http.controller';
import type { RedeemHttpController } from '../loyalty/redeem/redeem.http.controller';
import type { ListProjectionsHttpController } from '../projections/list-projections/list-projections.http.controller';
import type { GetRfmDistributionHttpController } from '../rfm/get-rfm-distribution/get-rfm-distribution.http.controller';
import type { GetRfmHistoryHttpController } from '../rfm/get-rfm-history/get-rfm-history.http.controller';
import type { ListRfmSegmentCustomersHttpController } from '../rfm/list-rfm-segment-customers/list-rfm-segment-customers.http.controller';
import type { RecomputeRfmHttpController } from '../rfm/recompute-rfm/recompute-rfm.http.controller';
import type { DeleteSegmentHttpController } from '../segments/delete-segment/delete-segment.http.controller';
import type { SegmentSizes } from '../segments/get-segment-sizes/get-segment-sizes.query';
import type { RecordSegmentCallsHttpController } from '../segment-ingest/record-segment-calls/record-segment-calls.http.controller';
import type { ListWebhookDeliveriesHttpController } from '../webhooks/list-webhook-deliveries/list-webhook-deliveries.http.controller';
import type { ManageWebhooksHttpController } from '../webhooks/manage-webhooks/manage-webhooks.http.controller';
import type { RegisterWebhookHttpController } from '../webhooks/register-webhook/register-webhook.http.controller';
import type { ResendWebhookDeliveriesHttpController } from '../webhooks/resend-webhook-deliveries/resend-webhook-deliveries.http.controller';
import type { GetAutomationResultsHttpController } from '../automations/get-automation-results/get-automation-results.http.controller';
import type { ManageAutomationsHttpController } from '../automations/manage-automations/manage-automations.http.controller';

// What method M of controller C answers as JSON (a CSV string is described as text/csv).
type Answer<C, M extends keyof C> = C[M] extends (...args: never[]) => infer R ? Exclude<Awaited<R>, string> : never;

type SegmentWithMembers = SegmentDefinition & {
  /** Customers in the segment now. */
  members: number;
};

export interface CairnSchemas {
  /** Body of POST /v1/loyalty/{customerId}/adjustments (parseAdjust). */
  AdjustRequest: {
    /**
     * Points to add (positive) or take away (negative), not 0.
     * @TJS-type integer
     * @minimum -100000000
     * @maximum 100000000
     */
    points: number;
    /**
     * Why, shown in the ledger.
     * @minLength 1
     * @maxLength 500
     */
    reason: string;
    /**
     * Idempotency key (default: a new one).
     * @format uuid
     */
    id?: string;
  };
  /** Body of POST /v1/loyalty/{customerId}/redemptions (parseRedeem). */
  RedeemRequest: {
    /**
     * @TJS-type integer
     * @minimum 1
     */
    points: number;
    /**
     * The shop's reference (an order, a voucher).
     * @minLength 1
     * @maxLength 200
     */
    reference?: string;
    /**
     * Idempotency key: the same id redeems once.
     * @format uuid
     */
    id?: string;
  };
  /** Body of PUT /v1/loyalty/program (parseProgramChange in libs/domain; docs/loyalty.md). */
  PutProgramRequest: {
    program: LoyaltyProgram;
    /** ISO 8601 instant with an offset from which this version applies (default: now). */
    effectiveFrom?: string;
  };

  RecordEventsResponse: RecordEventsResult;
  /** One line of the NDJSON answer of POST /v1/events/import; a failure mid-stream ends it with {error}. */
  ImportRecord: ImportRecord | { error: { code: string; message: string; status: number; acknowledged: number; resumeFromLine: number } };
  Profile: ProfileView;
  CustomerPage: Answer<ListCustomersHttpController, 'list'>;
  CustomerValue: Answer<CustomerValueHttpController, 'value'>;
  ProjectionList: Answer<ListProjectionsHttpController, 'list'>;
  ApiKeyList: Answer<ApiKeysHttpController, 'list'>;
  CreatedApiKey: Answer<ApiKeysHttpController, 'create'>;
  ApiKey: Answer<ApiKeysHttpController, 'revoke'>;
  RotatedApiKey: Answer<ApiKeysHttpController, 'rotate'>;
  AuditPage: Answer<ListAuditHttpController, 'list'>;
  Live: Answer<HealthHttpController, 'live'>;
  Ready: Answer<HealthHttpController, 'ready'>;
  MergeResult: Answer<MergeCustomersHttpController, 'merge'>;
  UnmergeResult: Answer<UnmergeCustomersHttpController, 'unmerge'>;
  RfmDistribution: Answer<GetRfmDistributionHttpController, 'get'>;
  RfmHistory: Answer<GetRfmHistoryHttpController, 'get'>;
  RfmRun: Answer<RecomputeRfmHttpController, 'recompute'>;
  RfmSegmentPage: Answer<ListRfmSegmentCustomersHttpController, 'list'>;
  Segment: SegmentDefinition;
  SegmentWithMembers: SegmentWithMembers;
  SegmentList: { items: SegmentWithMembers[] };
  SegmentMembers: SegmentMembersPage & { segmentId: string; version: number };
  SegmentSizes: SegmentSizes;
  DeletedSegment: Answer<DeleteSegmentHttpController, 'remove'>;
  ProgramDefined: Answer<PutProgramHttpController, 'put'>;
  ProgramVersions: Answer<PutProgramHttpController, 'get'>;
  LoyaltyLedger: Answer<GetLedgerHttpController, 'ledger'>;
  LoyaltyExplanation: Answer<ExplainHttpController, 'explain'>;
  LoyaltySummary: Answer<GetLoyaltyHttpController, 'get'>;
  Redeemed: Answer<RedeemHttpController, 'redeem'>;
  Adjusted: Answer<AdjustHttpController, 'adjust'>;
  ProjectionHealthList: Answer<ListProjectionHealthHttpController, 'list'>;
  ParkedEvents: { parked: ParkedEvent[] };
  RetryResults: { results: RetryResult[] };
  RebuildStatus: RebuildStatus;
  ReplayStatus: ReplayJobStatus;
  ReplayFiles: {
    /** Path of each result file → its content. */
    files: Record<string, string>;
  };
  Retention: Answer<AnalyticsHttpController, 'retention'>;
  Kpis: Answer<AnalyticsHttpController, 'kpis'>;
  ClvReport: Answer<AnalyticsHttpController, 'clv'>;
  /** Segment's `{ success: true }` with Cairn's outcome of each message (docs/segment-compatibility.md). */
  SegmentCallsResult: Answer<RecordSegmentCallsHttpController, 'batch'>;
  Webhook: Answer<ManageWebhooksHttpController, 'get'>;
  WebhookList: Answer<ManageWebhooksHttpController, 'list'>;
  RegisteredWebhook: Answer<RegisterWebhookHttpController, 'register'>;
  DeliveryPage: Answer<ListWebhookDeliveriesHttpController, 'list'>;
  Resent: Answer<ResendWebhookDeliveriesHttpController, 'range'>;
  Automation: Answer<ManageAutomationsHttpController, 'get'>;
  AutomationList: Answer<ManageAutomationsHttpController, 'list'>;
  VoucherList: Answer<GetAutomationResultsHttpController, 'vouchers'>;
  ErasureRecord: ErasureRecord;
  CustomerDataExport: CustomerDataExport;
  AutomationMetrics: Answer<GetAutomationResultsHttpController, 'metrics'>;
}

export type SchemaName = keyof CairnSchemas;
