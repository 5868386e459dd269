import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { ApiKeysHttpController } from './admin/api-keys/api-keys.http.controller';
import { AuditInterceptor } from './audit/audit';
import { AuthGuard } from './auth/auth.guard';
import { GetCustomerHandler } from './customers/get-customer/get-customer.handler';
import { GetCustomerHttpController } from './customers/get-customer/get-customer.http.controller';
import { ListCustomerEventsHandler } from './customers/list-customer-events/list-customer-events.handler';
import { ListCustomerEventsHttpController } from './customers/list-customer-events/list-customer-events.http.controller';
import { ListCustomerSegmentsHandler } from './customers/list-customer-segments/list-customer-segments.handler';
import { ListCustomerSegmentsHttpController } from './customers/list-customer-segments/list-customer-segments.http.controller';
import { ListCustomersHandler } from './customers/list-customers/list-customers.handler';
import { ListCustomersHttpController } from './customers/list-customers/list-customers.http.controller';
import { CairnExceptionFilter } from './errors/cairn-exception.filter';
import { HealthHttpController } from './health/health.http.controller';
import { ImportEventsHandler } from './ingest/import-events/import-events.handler';
import { ImportEventsHttpController } from './ingest/import-events/import-events.http.controller';
import { IngestLedger } from './ingest/ingest-ledger';
import { RecordEventsHandler } from './ingest/record-events/record-events.handler';
import { RecordEventsHttpController } from './ingest/record-events/record-events.http.controller';
import { MetricsModule } from './metrics/metrics';
import { MetricsHttpController } from './metrics/metrics.http.controller';
import { ListProjectionsHandler } from './projections/list-projections/list-projections.handler';
import { ListProjectionsHttpController } from './projections/list-projections/list-projections.http.controller';
import { FEATURE_MODULES } from './features';
import type { CairnRuntime } from './runtime';
import { RuntimeModule } from './runtime.module';

const commandHandlers = [RecordEventsHandler, ImportEventsHandler];
const queryHandlers = [GetCustomerHandler, ListCustomersHandler, ListCustomerEventsHandler, ListCustomerSegmentsHandler, ListProjectionsHandler];

@Module({})
export class AppModule {
  static register(runtime: CairnRuntime): DynamicModule {
    return {
      module: AppModule,
      imports: [
        RuntimeModule.forRoot(runtime),
        CqrsModule.forRoot({ rethrowUnhandled: true }),
        MetricsModule,
        ...FEATURE_MODULES,
      ],
      controllers: [
        RecordEventsHttpController,
        ImportEventsHttpController,
        ListCustomerEventsHttpController,
        ListCustomerSegmentsHttpController,
        GetCustomerHttpController,
        ListCustomersHttpController,
        ListProjectionsHttpController,
        ApiKeysHttpController,
        HealthHttpController,
        MetricsHttpController,
      ],
      providers: [
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_FILTER, useClass: CairnExceptionFilter },
        // Records every @Audited route in the audit log (apps/api/src/audit/audit.ts).
        { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
        IngestLedger,
        ...commandHandlers,
        ...queryHandlers,
      ],
    };
  }
}
