import { Global, Inject, Injectable, Module } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { RUNTIME, type CairnRuntime } from '../runtime';

/** Prometheus metrics (prom-client), one registry per app instance. */
@Injectable()
export class Metrics {
  readonly registry = new Registry();
  readonly ingested = new Counter({
    name: 'cairn_ingest_events_total',
    help: 'Events received over HTTP, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly segmentMessages = new Counter({
    name: 'cairn_segment_messages_total',
    help: 'Messages received on the Segment-compatible door (/v1/segment/*), by outcome (accepted, duplicate, rejected, unmapped, malformed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly appendSeconds = new Histogram({
    name: 'cairn_append_duration_seconds',
    help: 'Latency of durable appends to the event store, per ingest request',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor(@Inject(RUNTIME) runtime: CairnRuntime) {
    collectDefaultMetrics({ register: this.registry, prefix: 'cairn_' });
    const registry = this.registry;
    new Gauge({
      name: 'cairn_projector_checkpoint',
      help: 'Last committed log position per projection',
      labelNames: ['projection'] as const,
      registers: [registry],
      async collect() {
        for (const s of await runtime.projections.statuses()) this.set({ projection: s.name }, Number(s.checkpoint ?? 0n));
      },
    });
    new Gauge({
      name: 'cairn_projector_events_per_second',
      help: 'Projector rate over the last ~10 s',
      labelNames: ['projection'] as const,
      registers: [registry],
      async collect() {
        for (const s of await runtime.projections.statuses()) this.set({ projection: s.name }, s.rate);
      },
    });
    new Gauge({
      name: 'cairn_projector_lag_events',
      help: 'Cairn events in the log not yet folded, per projection (capped at 10000)',
      labelNames: ['projection'] as const,
      registers: [registry],
      async collect() {
        const statuses = await runtime.projections.statuses();
        const lags = await runtime.events.lagAfter(statuses.map((s) => s.checkpoint), 10_000);
        statuses.forEach((s, i) => this.set({ projection: s.name }, lags[i].count));
      },
    });
  }
}

/** Makes `Metrics` (one registry per app) injectable in every feature module. */
@Global()
@Module({ providers: [Metrics], exports: [Metrics] })
export class MetricsModule {}
