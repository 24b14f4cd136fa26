import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import { Metrics } from '../metrics/metrics';
import { Subject } from 'rxjs';
import { EVENT_STORE, EventStore, RecordedEvent, Subscription } from '../event-store/event-store.port';
import { DefinitionCache } from './campaign-read-model';
import type { SqlDb } from './sql-db';
import { CampaignChange, catchUpBatchSize, createQueryIndexes, dropQueryIndexes, migrateReadModels, PROJECTED_STREAMS, projectBatch, READ_MODEL_DB, readCheckpoint } from './projection';

export { migrateReadModels, PROJECTED_STREAMS, projectBatch, readCheckpoint, READ_MODEL_DB } from './projection';
export type { CampaignChange } from './projection';

/**
 * Live, a batch waits this long for more events before it is projected: under load a batch then
 * holds a few milliseconds of commands, not one turn of the event loop's, and the read models
 * take one transaction for them. A caller that waits for the read models (waitFor: read your
 * writes, the reminder scan) does not wait for it: the batch goes at once.
 */
export const PROJECTION_LINGER_MS = 10;

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
  /** How long a live batch waits for more events (PROJECTION_LINGER_MS). */
  lingerMs = PROJECTION_LINGER_MS;
  /** The linger timer of the scheduled batch (none once it is hurried or goes). */
  private linger?: NodeJS.Timeout;
  private waiters: { position: number; resolve: () => void }[] = [];
  /** Events per transaction while catching up; live, a batch is what arrived within PROJECTION_LINGER_MS. */
  private readonly batchSize: number;
  /** Global position up to which the read models are current. */
  position = 0;
  readonly changes = new Subject<CampaignChange>();

  constructor(
    @Inject(READ_MODEL_DB) readonly db: SqlDb,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Optional() private readonly metrics?: Metrics,
  ) {
    this.batchSize = catchUpBatchSize(db);
  }

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
        // Projecting from position 0 (a new or rebuilt read-model db): build the query indexes at the end.
        if (this.position === 0) await dropQueryIndexes(this.db);
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
    if (this.position === 0) {
      // Caught up from position 0: build the query indexes between two batches (a restart before then builds them in migrateReadModels).
      this.subscription.caughtUp.then(
        () => this.afterFlushes(() => createQueryIndexes(this.db), 'building the read-model indexes'),
        () => undefined,
      );
    }
  }

  /** Runs `work` after the batches already queued, retrying it like a batch. */
  private afterFlushes(work: () => Promise<void>, what: string): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      for (let attempt = 0; !this.closed; attempt++) {
        try {
          return await work();
        } catch (e) {
          this.logger.warn(`${what} failed (${(e as Error).message}); retrying`);
          await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
        }
      }
    });
    return this.flushing;
  }

  private closed = false;

  private enqueue(event: RecordedEvent): Promise<void> | void {
    this.buffer.push(event);
    if (this.buffer.length >= this.batchSize) {
      // One batch projects while the subscription reads the next (the read-model db may be
      // PostgreSQL, busy with the last batch); past that, the subscription waits. Catching up
      // from SQLite runs on settled promises alone: yield to the event loop between batches,
      // so that requests, health checks and timers are served meanwhile.
      const previous = this.flushing;
      void this.flush();
      return previous.then(() => new Promise<void>((resolve) => setImmediate(resolve)));
    }
    if (!this.scheduled) {
      this.scheduled = true;
      if (this.waiters.length) setImmediate(() => this.flushScheduled());
      else this.linger = setTimeout(() => this.flushScheduled(), this.lingerMs);
    }
  }

  private flushScheduled(): void {
    this.linger = undefined;
    this.scheduled = false;
    void this.flush();
  }

  /** Someone waits for the read models: the scheduled batch goes now, not when its linger ends. */
  private hurry(): void {
    if (!this.linger) return;
    clearTimeout(this.linger);
    this.linger = undefined;
    setImmediate(() => this.flushScheduled());
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
    this.hurry();
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
    clearTimeout(this.linger);
    await this.subscription?.close();
    await this.flushing;
    for (const w of this.waiters) w.resolve();
    this.changes.complete();
    await this.db.close();
  }
}
