import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { RUNTIME, type CairnRuntime } from '../runtime';

/** `/health/live`: the process answers. `/health` and `/health/ready`: the event store and the read store answer. */
@ApiTags('health')
@Controller('health')
export class HealthHttpController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    @Inject(RUNTIME) private readonly runtime: CairnRuntime,
  ) {}

  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get()
  @HealthCheck()
  ready() {
    return this.health.check([() => this.probe('eventStore', () => this.runtime.events.ping()), () => this.probe('readStore', () => this.runtime.readStore.ping())]);
  }

  @Get('ready')
  @HealthCheck()
  readyAlias() {
    return this.ready();
  }

  private async probe(key: string, check: () => Promise<void>): Promise<HealthIndicatorResult> {
    const i = this.indicator.check(key);
    const started = Date.now();
    try {
      await withTimeout(check(), 2000);
      return i.up({ ms: Date.now() - started });
    } catch (err) {
      return i.down({ message: err instanceof Error ? err.message : String(err) });
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}
