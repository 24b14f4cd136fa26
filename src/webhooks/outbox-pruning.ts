import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import { CLOCK, Clock } from '../common/clock';
import { DOCKET_CONFIG } from '../config/config.module';
import type { DocketConfig } from '../config/config';
import { Metrics } from '../metrics/metrics';
import { lockReadModels, readCheckpoint } from '../projections/projection';
import { Projector, READ_MODEL_DB } from '../projections/projector';
import type { SqlDb } from '../projections/sql-db';
import { prunedThrough } from './delivery-outbox';

export interface PruneResult {
  /** Outbox rows deleted by this call. */
  rows: number;
  /** The watermark after it: every delivery of an event at or below this position is gone. */
  through: number;
}

/** Rows deleted per transaction: short enough not to hold the projector or the event loop up. */
export const PRUNE_BATCH_ROWS = 1000;

/**
 * Deletes the settled deliveries (delivered, failed, cancelled, skipped) whose reminder was
 * issued before `now − retentionMs`, in log order, and stops at the first delivery that is
 * still pending or younger than that, and at the projector's checkpoint: the watermark is a
 * position below which nothing is left, so a later re-projection knows which reminders not to
 * deliver again. Each batch is one transaction under the read models' lock (lockReadModels),
 * which projection and redelivery take as well: no delivery turns pending, and no reminder is
 * projected against an older watermark, between the check and the delete. Several instances
 * may prune at once: they take turns, and the watermark only rises. `stop` is asked between
 * batches (a service shutting down).
 */
export async function pruneOutbox(db: SqlDb, now: Date, retentionMs: number, batchRows = PRUNE_BATCH_ROWS, stop: () => boolean = () => false): Promise<PruneResult> {
  const cutoff = new Date(now.getTime() - retentionMs).toISOString();
  let rows = 0;
  for (;;) {
    const step = await db.transaction(async (tx) => {
      await lockReadModels(tx);
      const through = await prunedThrough(tx);
      const checkpoint = await readCheckpoint(tx);
      // A batch: up to the position of its batchRows-th row (the rows of one event go together), or the checkpoint.
      const [nth] = await tx.all<{ event_position: number | string }>(
        'SELECT event_position FROM delivery_outbox WHERE event_position > ? AND event_position <= ? ORDER BY event_position LIMIT 1 OFFSET ?',
        [through, checkpoint, batchRows - 1],
      );
      const end = nth ? Number(nth.event_position) : checkpoint;
      // The first delivery in it that must stay ends the pruning just before its event.
      const [blocker] = await tx.all<{ event_position: number | string }>(
        `SELECT event_position FROM delivery_outbox WHERE event_position > ? AND event_position <= ? AND (status = 'pending' OR created_at > ?)
         ORDER BY event_position LIMIT 1`,
        [through, end, cutoff],
      );
      const upTo = blocker ? Number(blocker.event_position) - 1 : end;
      const last = !!blocker || !nth;
      if (upTo <= through) return { deleted: 0, last };
      const gone = await tx.all<{ delivery_id: string }>('DELETE FROM delivery_outbox WHERE event_position > ? AND event_position <= ? RETURNING delivery_id', [through, upTo]);
      // Nothing deleted means no rows up to the checkpoint (rows in the batch would be deleted or block): the last batch.
      if (gone.length === 0) return { deleted: 0, last: true };
      await tx.run(
        `INSERT INTO delivery_outbox_pruned (id, position, rows_pruned, pruned_at) VALUES (1, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET rows_pruned = delivery_outbox_pruned.rows_pruned + excluded.rows_pruned, pruned_at = excluded.pruned_at,
           position = CASE WHEN delivery_outbox_pruned.position > excluded.position THEN delivery_outbox_pruned.position ELSE excluded.position END`,
        [upTo, gone.length, now.toISOString()],
      );
      return { deleted: gone.length, last };
    });
    rows += step.deleted;
    if (step.last || stop()) break;
    // Let requests and the projector in between batches.
    await new Promise((r) => setImmediate(r));
  }
  return { rows, through: await prunedThrough(db) };
}

const HOUR = 3_600_000;

/**
 * Prunes the outbox an hour apart (DOCKET_OUTBOX_RETENTION_DAYS; 0 keeps every delivery), the
 * first time a minute after start. The reminders themselves stay in the log for good: what is
 * pruned is the record of sending them.
 */
@Injectable()
export class OutboxPruner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Deliveries');
  private timer?: NodeJS.Timeout;
  private running?: Promise<PruneResult>;
  private closed = false;

  constructor(
    @Inject(READ_MODEL_DB) private readonly db: SqlDb,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(DOCKET_CONFIG) private readonly config: DocketConfig,
    private readonly projector: Projector,
    @Optional() private readonly metrics?: Metrics,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.delivery.retentionDays <= 0 || this.config.delivery.intervalMs <= 0) return;
    const tick = () => {
      if (this.closed) return;
      void this.pruneOnce().catch((e) => {
        if (!this.closed) this.logger.warn(`pruning the delivery outbox failed: ${(e as Error).message}`);
      });
    };
    this.timer = setTimeout(() => {
      tick();
      this.timer = setInterval(tick, HOUR);
      this.timer.unref();
    }, 60_000);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One pruning at the clock's now; concurrent calls share it. Nothing when retention is 0. */
  pruneOnce(): Promise<PruneResult> {
    this.running ??= this.prune().finally(() => (this.running = undefined));
    return this.running;
  }

  private async prune(): Promise<PruneResult> {
    const days = this.config.delivery.retentionDays;
    if (days <= 0) return { rows: 0, through: await prunedThrough(this.db) };
    await this.projector.ready();
    const result = await pruneOutbox(this.db, this.clock.now(), days * 86_400_000, PRUNE_BATCH_ROWS, () => this.closed);
    if (result.rows > 0) {
      this.metrics?.outboxPruned.inc(result.rows);
      this.logger.log(`pruned ${result.rows} settled ${result.rows === 1 ? 'delivery' : 'deliveries'} older than ${days} days (through log position ${result.through})`);
    }
    return result;
  }
}
