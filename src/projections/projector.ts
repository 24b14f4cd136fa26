import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import { Metrics } from '../metrics/metrics';
import { Subject } from 'rxjs';
import { EVENT_STORE, EventStore, RecordedEvent, Subscription } from '../event-store/event-store.port';
import { applyCampaignEvent, CAMPAIGN_READ_MODEL_SCHEMA, DefinitionCache } from './campaign-read-model';
import { PostgresDb, SqlDb } from './sql-db';
import { applyReminderEvent, REMINDER_READ_MODEL_SCHEMA } from '../reminders/reminder-read-model';
import { REMINDERS_STREAM_PREFIX } from '../reminders/domain/reminders';

export const READ_MODEL_DB = Symbol('READ_MODEL_DB');

const CHECKPOINT = 'campaigns';
/** The streams the read models are folded from. */
export const PROJECTED_STREAMS = ['campaign-', REMINDERS_STREAM_PREFIX];
const BATCH = 500;

export interface CampaignChange {
  campaignId: string;
  revision: number;
  position: number;
  type: string;
}

/** Creates or migrates the read-model tables (idempotent). */
export async function migrateReadModels(db: SqlDb): Promise<void> {
  if (db instanceof PostgresDb) await db.run(`CREATE SCHEMA IF NOT EXISTS "${db.schema.replace(/"/g, '""')}"`);
  for (const ddl of [...CAMPAIGN_READ_MODEL_SCHEMA, ...REMINDER_READ_MODEL_SCHEMA]) await db.run(ddl);
}

export async function readCheckpoint(db: SqlDb): Promise<number> {
  const [row] = await db.all<{ position: number | string }>('SELECT position FROM rm_checkpoints WHERE name = ?', [CHECKPOINT]);
  return row ? Number(row.position) : 0;
}

/**
 * Applies a batch of events and moves the checkpoint in the same transaction: after a
 * crash the read models and the checkpoint agree, so nothing is applied twice or skipped.
 */
export async function projectBatch(db: SqlDb, defs: DefinitionCache, events: RecordedEvent[]): Promise<CampaignChange[]> {
  if (events.length === 0) return [];
  return db.transaction(async (tx) => {
    const changes: CampaignChange[] = [];
    for (const e of events) {
      if (e.streamId.startsWith(REMINDERS_STREAM_PREFIX)) {
        if (await applyReminderEvent(tx, e)) changes.push({ campaignId: e.streamId.slice(REMINDERS_STREAM_PREFIX.length), revision: e.revision, position: e.position, type: e.type });
      } else if (await applyCampaignEvent(tx, defs, e)) {
        changes.push({ campaignId: e.streamId.slice('campaign-'.length), revision: e.revision, position: e.position, type: e.type });
      }
    }
    const last = events[events.length - 1].position;
    await tx.run(
      `INSERT INTO rm_checkpoints (name, position) VALUES (?, ?)
       ON CONFLICT (name) DO UPDATE SET position = CASE WHEN rm_checkpoints.position > excluded.position THEN rm_checkpoints.position ELSE excluded.position END`,
      [CHECKPOINT, last],
    );
    return changes;
  });
}

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
