import { FastValidationPipe } from './common/fast-validation.pipe';
import { DynamicModule, Inject, Injectable, Logger, Module, OnApplicationShutdown, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { AuditController } from './audit/audit.controller';
import { AuthGuard, JWT_CODEC } from './auth/auth.guard';
import { JwtCodec } from './auth/jwt';
import { CampaignCommandExecutor } from './campaigns/campaign-command.executor';
import { CampaignQueries } from './campaigns/campaign.queries';
import { CampaignRepository } from './campaigns/campaign.repository';
import { CampaignsController } from './campaigns/campaigns.controller';
import { LaunchCampaignHandler } from './campaigns/launch-campaign/launch-campaign.handler';
import { ReviewDeliverableHandler } from './campaigns/review-deliverable/review-deliverable.handler';
import { SubmitDeliverableHandler } from './campaigns/submit-deliverable/submit-deliverable.handler';
import { TransitionCampaignHandler } from './campaigns/transition-campaign/transition-campaign.handler';
import { ChangeDeadlineHandler } from './campaigns/change-deadline/change-deadline.handler';
import { CLOCK, Clock, SystemClock } from './common/clock';
import { DomainError } from './common/domain/domain-error';
import { ProblemFilter } from './common/problem.filter';
import { type DocketConfig, storageConfig } from './config/config';
import { DOCKET_CONFIG } from './config/config.module';
import { HealthController } from './health/health.controller';
import { Metrics, MetricsController } from './metrics/metrics';
import { EVENT_STORE, EventStore } from './event-store/event-store.port';
import { createEventStore } from './event-store/event-store.factory';
import { loadWorkflowsDir } from './workflows/workflow-loader';
import { WorkflowRegistry } from './workflows/workflow.registry';
import { WorkflowsController } from './workflows/workflows.controller';
import { BallotKeys } from './evaluations/ballot-keys';
import { EvaluationRepository } from './evaluations/evaluation.repository';
import { EvaluationService } from './evaluations/evaluation.service';
import { BallotPageController, EvaluationsController } from './evaluations/evaluations.controller';
import { Projector, PROJECTION_THREAD, READ_MODEL_DB } from './projections/projector';
import type { SqlDb } from './projections/sql-db';
import { CAMPAIGN_SNAPSHOTS, SqlSnapshotStore } from './campaigns/campaign-snapshots';
import { ReadModelQueries } from './projections/read-model.queries';
import { ReadModelsController } from './projections/read-models.controller';
import { RemindersController } from './reminders/reminders.controller';
import { ReminderScheduler } from './reminders/reminder-scheduler';
import { createReadModelDb } from './projections/read-model-db.factory';
import { MAILER, SmtpMailer } from './notifications/mailer';
import { DeliveryDispatcher } from './webhooks/delivery-dispatcher';
import { OutboxPruner } from './webhooks/outbox-pruning';
import { MailDeliveriesController, WebhooksController } from './webhooks/webhooks.controller';
import { WebhooksService } from './webhooks/webhooks.service';

export interface AppOptions {
  config: DocketConfig;
  /** Defaults to the system clock; tests pass a ManualClock. */
  clock?: Clock;
  /** Defaults to the store the configuration names. */
  store?: EventStore;
  /** Defaults to the definitions in config.workflowsDir. */
  workflows?: WorkflowRegistry;
}

/** Every validation failure becomes problem+json VALIDATION_FAILED listing each field and what is wrong. */
export const validationPipe = new ValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  transform: true,
  stopAtFirstError: false,
  exceptionFactory: (errors) => {
    const flat: { field: string; problems: string[] }[] = [];
    const walk = (errs: typeof errors, prefix: string) => {
      for (const e of errs) {
        const field = prefix ? `${prefix}.${e.property}` : e.property;
        if (e.constraints) flat.push({ field, problems: Object.values(e.constraints) });
        if (e.children?.length) walk(e.children, field);
      }
    };
    walk(errors, '');
    const shown = flat.slice(0, 20);
    return new DomainError('VALIDATION_FAILED', shown.map((f) => f.problems.join('; ')).join('; ') || 'invalid request', {
      errors: shown,
    });
  },
});

const APP_OPTIONS = Symbol('APP_OPTIONS');

/** Closes the store the application opened itself (a store handed in belongs to the caller). */
@Injectable()
class StoreLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(APP_OPTIONS) private readonly options: AppOptions,
  ) {}
  async onApplicationShutdown() {
    if (!this.options.store) await this.store.close();
  }
}

@Module({})
export class AppModule {
  static forRoot(options: AppOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [CqrsModule.forRoot()],
      controllers: [HealthController, MetricsController, WorkflowsController, CampaignsController, ReadModelsController, RemindersController, AuditController, EvaluationsController, BallotPageController, WebhooksController, MailDeliveriesController],
      providers: [
        { provide: APP_OPTIONS, useValue: options },
        { provide: DOCKET_CONFIG, useValue: options.config },
        StoreLifecycle,
        Metrics,
        { provide: CLOCK, useValue: options.clock ?? new SystemClock() },
        { provide: EVENT_STORE, useFactory: () => options.store ?? createEventStore(options.config, (m) => new Logger('EventStore').warn(m)) },
        { provide: JWT_CODEC, useFactory: () => new JwtCodec(options.config.jwtSecret) },
        { provide: WorkflowRegistry, useFactory: () => options.workflows ?? new WorkflowRegistry(loadWorkflowsDir(options.config.workflowsDir)) },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_FILTER, useClass: ProblemFilter },
        { provide: APP_PIPE, useValue: new FastValidationPipe(validationPipe) },
        { provide: READ_MODEL_DB, useFactory: () => createReadModelDb(options.config) },
        { provide: CAMPAIGN_SNAPSHOTS, useFactory: (db: SqlDb) => new SqlSnapshotStore(db), inject: [READ_MODEL_DB] },
        // The projection thread opens the store the configuration names: not a store handed in.
        ...(options.store || !options.config.projectionThread ? [] : [{ provide: PROJECTION_THREAD, useValue: storageConfig(options.config) }]),
        Projector,
        ReminderScheduler,
        { provide: MAILER, useFactory: () => new SmtpMailer(options.config.delivery) },
        WebhooksService,
        DeliveryDispatcher,
        OutboxPruner,
        ReadModelQueries,
        CampaignRepository,
        CampaignCommandExecutor,
        CampaignQueries,
        LaunchCampaignHandler,
        SubmitDeliverableHandler,
        ReviewDeliverableHandler,
        TransitionCampaignHandler,
        ChangeDeadlineHandler,
        BallotKeys,
        EvaluationRepository,
        EvaluationService,
      ],
    };
  }
}
