import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { Subject } from 'rxjs';
import type { StorageConfig } from '../config/config';
import { startWorker } from '../common/worker-thread';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store';
import { Metrics } from '../metrics/metrics';
import type { CampaignChange } from './projection';
import { PROJECTION_LINGER_MS, ProjectionEvents, ProjectionRunner } from './projection-runner';
import { READ_MODEL_DB } from './projection';
import type { ProjectionThreadCommand, ProjectionThreadData, ProjectionThreadReport } from './projector.thread';
import type { SqlDb } from './sql-db';

export { migrateReadModels, PROJECTED_STREAMS, projectBatch, readCheckpoint, READ_MODEL_DB } from './projection';
export type { CampaignChange } from './projection';
export { PROJECTION_LINGER_MS } from './projection-runner';

/**
 * Given (app.module.ts, DOCKET_PROJECTION_THREAD), the projector runs on a thread of its own,
 * opening the store and the read models this configuration names; not given (a store handed in
 * by a test or a bench, which a thread could not open), on the service's thread.
 */
export const PROJECTION_THREAD = Symbol('PROJECTION_THREAD');

/** A projection thread that ends without being asked is started again after this long (doubling to 30 s). */
const RESTART_MS = 500;

/**
 * Keeps the read models up to date from a checkpointed catch-up subscription to the whole log
 * (ProjectionRunner), and tells the service how far they are: `position`, `waitFor` (read your
 * writes) and `changes` (live updates, webhooks). Lists and dashboards read the tables; they
 * never replay streams per request.
 *
 * With PROJECTION_THREAD the runner is on a worker thread (projector.thread.ts): folding and
 * writing read models, a quarter of the event loop's time under load, leave the thread that
 * serves requests. The service keeps its own read-model connection (READ_MODEL_DB) for queries.
 */
@Injectable()
export class Projector implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Projector');
  private runner?: ProjectionRunner;
  private worker?: Worker;
  private stopWaking?: () => void;
  private restartMs = RESTART_MS;
  private restartTimer?: NodeJS.Timeout;
  private waiters: { position: number; resolve: () => void }[] = [];
  private closed = false;
  private linger = PROJECTION_LINGER_MS;
  /** Global position up to which the read models are current. */
  position = 0;
  readonly changes = new Subject<CampaignChange>();

  constructor(
    @Inject(READ_MODEL_DB) readonly db: SqlDb,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Optional() private readonly metrics?: Metrics,
    @Optional() @Inject(PROJECTION_THREAD) private readonly thread?: StorageConfig,
  ) {}

  /** How long a live batch waits for more events (PROJECTION_LINGER_MS); set before the application starts. */
  get lingerMs(): number {
    return this.linger;
  }
  set lingerMs(ms: number) {
    this.linger = ms;
    if (this.runner) this.runner.lingerMs = ms;
  }

  /** Whether the projection runs on a thread of its own. */
  get threaded(): boolean {
    return this.thread !== undefined;
  }

  private migrated!: () => void;
  private readonly migratedPromise = new Promise<void>((r) => (this.migrated = r));

  /** Resolves once the read-model tables exist (the projector migrates them at start). */
  ready(): Promise<void> {
    return this.migratedPromise;
  }

  private readonly events: ProjectionEvents = {
    migrated: (position) => {
      this.advance(position, []);
      this.migrated();
    },
    projected: (position, changes) => this.advance(position, changes),
    warn: (message) => this.logger.warn(message),
    error: (message) => this.logger.error(message),
  };

  async onApplicationBootstrap(): Promise<void> {
    if (this.thread) {
      this.startThread(this.thread);
      return;
    }
    this.runner = new ProjectionRunner(this.db, this.store, this.events);
    this.runner.lingerMs = this.linger;
    this.runner.start().catch((e) => this.logger.error(`projector stopped: ${(e as Error).message}`));
  }

  private startThread(storage: StorageConfig): void {
    const worker = startWorker(join(__dirname, 'projector.thread'), { workerData: { storage, lingerMs: this.linger } satisfies ProjectionThreadData });
    this.worker = worker;
    worker.on('message', (r: ProjectionThreadReport) => {
      switch (r.kind) {
        case 'migrated':
          this.restartMs = RESTART_MS;
          return this.events.migrated(r.position);
        case 'projected':
          return this.events.projected(r.position, r.changes);
        case 'log':
          return this.events[r.level](r.message);
      }
    });
    worker.on('error', (e) => this.logger.error(`projection thread failed: ${e.message}`));
    worker.once('exit', (code) => {
      this.stopWaking?.();
      this.stopWaking = undefined;
      if (this.worker === worker) this.worker = undefined;
      if (this.closed) return;
      this.logger.error(`projection thread ended (code ${code}); starting it again in ${this.restartMs} ms`);
      this.restartTimer = setTimeout(() => this.startThread(storage), this.restartMs);
      this.restartMs = Math.min(30_000, this.restartMs * 2);
    });
    // SQLite: the thread reads on a connection of its own; tell it when this one commits. At most
    // once per linger: the thread gathers a batch that long anyway, so the commits made within
    // one window are told at its end, together. Under load that is one message per batch rather
    // than one per group commit (each message wakes the thread and costs this event loop a
    // system call); a lone commit is told at once, and a wait (want) is sent at once too.
    if (this.store instanceof SqliteEventStore) {
      let window: NodeJS.Timeout | undefined;
      let missed = false;
      const wake = () => {
        this.send({ kind: 'wake' });
        window = setTimeout(() => {
          window = undefined;
          if (!missed) return;
          missed = false;
          wake();
        }, this.linger);
      };
      const stop = this.store.onCommitted(() => {
        if (window) missed = true;
        else wake();
      });
      this.stopWaking = () => {
        stop();
        clearTimeout(window);
      };
    }
    // Waiters from before a restart: the new thread hurries their batches too.
    for (const w of this.waiters) this.send({ kind: 'want', position: w.position });
  }

  private send(command: ProjectionThreadCommand): void {
    this.worker?.postMessage(command);
  }

  private advance(position: number, changes: CampaignChange[]): void {
    if (position > this.position) {
      this.position = position;
      this.metrics?.projectionPosition.set(position);
    }
    for (const c of changes) this.changes.next(c);
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((w) => {
      if (w.position > this.position) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once the read models include `position` (or after `timeoutMs`, whichever comes first). */
  waitFor(position: number, timeoutMs = 2000): Promise<void> {
    if (position <= this.position) return Promise.resolve();
    if (this.runner) this.runner.want(position);
    else this.send({ kind: 'want', position });
    return new Promise((resolve) => {
      const waiter = {
        position,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve();
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    clearTimeout(this.restartTimer);
    await this.runner?.close();
    await this.stopThread();
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
    this.changes.complete();
    await this.db.close();
  }

  /** Asks the thread to finish its batch and close its connections; ends it if it has not within 10 s. */
  private async stopThread(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ kind: 'close' } satisfies ProjectionThreadCommand);
    const timer = setTimeout(() => {
      this.logger.warn('the projection thread did not close within 10 s; ending it');
      void worker.terminate();
    }, 10_000);
    await exited;
    clearTimeout(timer);
  }
}
