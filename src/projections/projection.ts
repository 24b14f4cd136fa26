import type { RecordedEvent } from '../event-store/event-store.port';
import { CAMPAIGN_READ_MODEL_INDEXES, CAMPAIGN_READ_MODEL_SCHEMA, CampaignBatch, DefinitionCache } from './campaign-read-model';
import { migrate, PostgresDb, SqlDb } from './sql-db';
import { applyReminderEvent, REMINDER_READ_MODEL_SCHEMA } from '../reminders/reminder-read-model';
import { REMINDERS_STREAM_PREFIX, type ReminderData } from '../reminders/domain/reminders';
import { applyDeliveryEvents, DELIVERY_SCHEMA, prunedThrough } from '../webhooks/delivery-outbox';
import { WEBHOOKS_STREAM } from '../webhooks/domain/webhooks';

/*
 * The projection itself, free of Nest: the service's Projector runs it live, and the CLI
 * (rebuild, check, audit) runs it with the service stopped.
 */
export const READ_MODEL_DB = Symbol('READ_MODEL_DB');

const CHECKPOINT = 'campaigns';
const CAMPAIGN_STREAM_PREFIX = 'campaign-';
/** The streams the read models are folded from. */
export const PROJECTED_STREAMS = [CAMPAIGN_STREAM_PREFIX, REMINDERS_STREAM_PREFIX, WEBHOOKS_STREAM];

export interface CampaignChange {
  campaignId: string;
  revision: number;
  position: number;
  type: string;
}

/** Creates or migrates the read-model tables and their indexes (idempotent). */
export async function migrateReadModels(db: SqlDb): Promise<void> {
  await migrate(db, [...CAMPAIGN_READ_MODEL_SCHEMA, ...REMINDER_READ_MODEL_SCHEMA, ...DELIVERY_SCHEMA, ...CAMPAIGN_READ_MODEL_INDEXES.map((i) => i.ddl)]);
}

/**
 * A projection from position 0 fills empty tables: it drops the query indexes first and builds
 * them once it has caught up (createQueryIndexes), which costs far less than keeping them up to
 * date row by row. Queries meanwhile are slower, and answer from read models still catching up.
 */
export async function dropQueryIndexes(db: SqlDb): Promise<void> {
  for (const i of CAMPAIGN_READ_MODEL_INDEXES) await db.run(`DROP INDEX IF EXISTS ${i.name}`);
}

/** Builds the campaign tables' query indexes (idempotent). */
export async function createQueryIndexes(db: SqlDb): Promise<void> {
  for (const i of CAMPAIGN_READ_MODEL_INDEXES) await db.run(i.ddl);
}

/**
 * Events per transaction while catching up. A campaign's events then mostly fall in one batch,
 * so its rows are written once. On SQLite, bigger batches keep more events alive across
 * young-generation collections and cost more in GC than they save in writes; on PostgreSQL,
 * every statement is a round trip, and bigger batches pay.
 */
export const catchUpBatchSize = (db: SqlDb) => (db.dialect === 'postgres' ? 5000 : 1000);

export async function readCheckpoint(db: SqlDb): Promise<number> {
  const [row] = await db.all<{ position: number | string }>('SELECT position FROM rm_checkpoints WHERE name = ?', [CHECKPOINT]);
  return row ? Number(row.position) : 0;
}

/**
 * Inside a transaction: waits for, then holds until its end, the read models' lock. Instances
 * sharing PostgreSQL read models project one batch at a time, each reading the rows the last one
 * committed: a batch folded from rows another instance has since moved on would write them back.
 * Pruning the outbox and asking for a redelivery take it too (src/webhooks/outbox-pruning.ts).
 * SQLite's BEGIN IMMEDIATE already serialises writers.
 */
export async function lockReadModels(tx: SqlDb): Promise<void> {
  if (tx.dialect === 'postgres') await tx.run(`SELECT pg_advisory_xact_lock(hashtext('docket.read-models:' || current_schema()))`);
}

/**
 * Applies a batch of events and moves the checkpoint in the same transaction: after a
 * crash the read models and the checkpoint agree, so nothing is applied twice or skipped.
 * Campaign events are folded in memory and their rows written once at the end of the
 * batch (CampaignBatch); reminder and webhook events are applied as they come.
 */
export async function projectBatch(db: SqlDb, defs: DefinitionCache, events: RecordedEvent[]): Promise<CampaignChange[]> {
  if (events.length === 0) return [];
  let batch!: CampaignBatch;
  const changes = await db.transaction(async (tx) => {
    await lockReadModels(tx);
    batch = new CampaignBatch(tx, defs);
    await batch.load(events);
    const changes: CampaignChange[] = [];
    // The outbox's pruning watermark: reminders at or below it get no delivery rows again.
    const pruned = events.some((e) => e.streamId.startsWith(REMINDERS_STREAM_PREFIX)) ? await prunedThrough(tx) : 0;
    for (const e of events) {
      if (e.streamId.startsWith(CAMPAIGN_STREAM_PREFIX)) {
        if (batch.apply(e)) changes.push({ campaignId: e.streamId.slice(CAMPAIGN_STREAM_PREFIX.length), revision: e.revision, position: e.position, type: e.type });
        continue;
      }
      if (e.streamId.startsWith(REMINDERS_STREAM_PREFIX)) {
        if (await applyReminderEvent(tx, e)) changes.push({ campaignId: e.streamId.slice(REMINDERS_STREAM_PREFIX.length), revision: e.revision, position: e.position, type: e.type });
        // The outbox row reads the campaign's summary row: write it now if this batch launched the campaign.
        const campaignId = (e.data as Partial<ReminderData> | null)?.campaignId;
        if (typeof campaignId === 'string') await batch.writeSummaryNow(campaignId);
      }
      // Webhook registrations, and the outbox rows of reminders (src/webhooks/delivery-outbox.ts).
      await applyDeliveryEvents(tx, defs, e, pruned);
    }
    await batch.write();
    const last = events[events.length - 1].position;
    await tx.run(
      `INSERT INTO rm_checkpoints (name, position) VALUES (?, ?)
       ON CONFLICT (name) DO UPDATE SET position = CASE WHEN rm_checkpoints.position > excluded.position THEN rm_checkpoints.position ELSE excluded.position END`,
      [CHECKPOINT, last],
    );
    return changes;
  });
  batch.committed();
  return changes;
}
