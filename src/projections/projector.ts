import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import { Metrics } from '../metrics/metrics';
import { Subject } from 'rxjs';
import { EVENT_STORE, EventStore, RecordedEvent, Subscription } from '../event-store/event-store.port';
import { DefinitionCache } from './campaign-read-model';
import type { SqlDb } from './sql-db';
import { CampaignChange, migrateReadModels, PROJECTED_STREAMS, projectBatch, READ_MODEL_DB, readCheckpoint } from './projection';

const BATCH = 500;

export { migrateReadModels, PROJECTED_STREAMS, projectBatch, readCheckpoint, READ_MODEL_DB } from './projection';
export type { CampaignChange } from './projection';

/**
 * Keeps the read models up to date from a checkpointed catch-up subscription to the
 * whole log (campaign streams), in batches. Lists and dashboards read the tables; they
 * never replay streams per request.
 */
@Injectable()
export class Projector implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Projector');
  private readonly defs = new DefinitionCache();
  private subscription?: Subscription;
  private buffer: RecordedEvent[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private scheduled = false;
  private waiters: { position: number; resolve: () => void }[] = [];
  /** Global position up to which the read models are current. */
  position = 0;
  readonly changes = new Subject<CampaignChange>();

  constructor(
    @Inject(READ_MODEL_DB) readonly db: SqlDb,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Optional() private readonly metrics?: Metrics,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.start().catch((e) => this.logger.error(`projector stopped: ${(e as Error).message}`));
  }

  private migrated!: () => void;
  private readonly migratedPromise = new Promise<void>((r) => (this.migrated = r));

  /** Resolves once the read-model tables exist (the projector migrates them at start). */
  ready(): Promise<void> {
    return this.migratedPromise;
  }

  private async start(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await migrateReadModels(this.db);
        this.position = await readCheckpoint(this.db);
        this.migrated();
        break;
      } catch (e) {
        if (this.closed) return;
        this.logger.warn(`read models not ready (${(e as Error).message}); retrying`);
        await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** attempt)));
      }
    }
    if (this.closed) return;
    this.subscription = this.store.subscribeToAll({ afterPosition: this.position, streamPrefixes: PROJECTED_STREAMS }, (e) => this.enqueue(e));
    this.subscription.done.catch((e) => this.logger.error(`projection subscription failed: ${(e as Error).message}`));
  }

  private closed = false;

  private enqueue(event: RecordedEvent): Promise<void> | void {
    this.buffer.push(event);
    if (this.buffer.length >= BATCH) return this.flush();
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.flush();
      });
    }
  }

  private flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const batch = this.buffer;
      if (batch.length === 0) return;
      this.buffer = [];
      for (let attempt = 0; ; attempt++) {
        try {
          const changes = await projectBatch(this.db, this.defs, batch);
          this.position = Math.max(this.position, batch[batch.length - 1].position);
          this.metrics?.projectionPosition.set(this.position);
          for (const c of changes) this.changes.next(c);
          break;
        } catch (e) {
          if (this.closed) return;
          this.logger.warn(`projecting a batch failed (${(e as Error).message}); retrying`);
          await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
        }
      }
      this.waiters = this.waiters.filter((w) => {
        if (w.position > this.position) return true;
        w.resolve();
        return false;
      });
    });
    return this.flushing;
  }

  /** Resolves once the read models include `position` (or after `timeoutMs`, whichever comes first). */
  waitFor(position: number, timeoutMs = 2000): Promise<void> {
    if (position <= this.position) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push({
        position,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    await this.subscription?.close();
    await this.flushing;
    for (const w of this.waiters) w.resolve();
    this.changes.complete();
    await this.db.close();
  }
}
