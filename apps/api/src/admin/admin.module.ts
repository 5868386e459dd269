import { Module } from '@nestjs/common';
import { ListAuditHttpController } from '../audit/list-audit.http.controller';
import { GetRebuildHandler } from './get-rebuild/get-rebuild.handler';
import { GetRebuildHttpController } from './get-rebuild/get-rebuild.http.controller';
import { GetReplayHandler } from './get-replay/get-replay.handler';
import { GetReplayHttpController } from './get-replay/get-replay.http.controller';
import { ListParkedEventsHandler } from './list-parked-events/list-parked-events.handler';
import { ListParkedEventsHttpController } from './list-parked-events/list-parked-events.http.controller';
import { ListProjectionHealthHandler } from './list-projection-health/list-projection-health.handler';
import { ListProjectionHealthHttpController } from './list-projection-health/list-projection-health.http.controller';
import { RetryParkedEventsHandler } from './retry-parked-events/retry-parked-events.handler';
import { RetryParkedEventsHttpController } from './retry-parked-events/retry-parked-events.http.controller';
import { StartRebuildHandler } from './start-rebuild/start-rebuild.handler';
import { StartRebuildHttpController } from './start-rebuild/start-rebuild.http.controller';
import { StartReplayHandler } from './start-replay/start-replay.handler';
import { StartReplayHttpController } from './start-replay/start-replay.http.controller';

/** Operations for admins and analysts: projection health, parked events, rebuilds, replays, the audit log (all scope `admin`). */
@Module({
  controllers: [
    ListProjectionHealthHttpController,
    ListParkedEventsHttpController,
    RetryParkedEventsHttpController,
    StartRebuildHttpController,
    GetRebuildHttpController,
    StartReplayHttpController,
    GetReplayHttpController,
    ListAuditHttpController,
  ],
  providers: [
    ListProjectionHealthHandler,
    ListParkedEventsHandler,
    RetryParkedEventsHandler,
    StartRebuildHandler,
    GetRebuildHandler,
    StartReplayHandler,
    GetReplayHandler,
  ],
})
export class AdminModule {}
