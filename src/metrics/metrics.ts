import { Controller, Get, Header, Injectable } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { Public } from '../auth/roles.decorator';

/** The service's Prometheus metrics: one registry per application instance (tests boot several). */
@Injectable()
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'docket_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly commands = new Counter({
    name: 'docket_commands_total',
    help: 'Campaign commands by type and outcome (ok, replayed, or the refusal code)',
    labelNames: ['type', 'outcome'],
    registers: [this.registry],
  });
  readonly eventsAppended = new Counter({
    name: 'docket_events_appended_total',
    help: 'Events appended to campaign streams by this instance',
    registers: [this.registry],
  });
  readonly conflictRetries = new Counter({
    name: 'docket_concurrency_retries_total',
    help: 'Commands re-decided after another instance appended first',
    registers: [this.registry],
  });
  readonly projectionPosition = new Gauge({
    name: 'docket_projection_position',
    help: 'Global log position the read models include',
    registers: [this.registry],
  });
  readonly remindersIssued = new Counter({
    name: 'docket_reminders_issued_total',
    help: 'Reminders and escalations issued by this instance',
    registers: [this.registry],
  });
  readonly outboxPruned = new Counter({
    name: 'docket_outbox_pruned_total',
    help: 'Settled deliveries pruned from the outbox by this instance (DOCKET_OUTBOX_RETENTION_DAYS)',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'docket_' });
  }
}

@ApiTags('ops')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  @Get()
  @Public()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({ summary: 'Prometheus metrics' })
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
