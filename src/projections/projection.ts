import type { RecordedEvent } from '../event-store/event-store.port';
import { applyCampaignEvent, CAMPAIGN_READ_MODEL_SCHEMA, DefinitionCache } from './campaign-read-model';
import { PostgresDb, SqlDb } from './sql-db';
import { applyReminderEvent, REMINDER_READ_MODEL_SCHEMA } from '../reminders/reminder-read-model';
import { REMINDERS_STREAM_PREFIX } from '../reminders/domain/reminders';
import { applyDeliveryEvents, DELIVERY_SCHEMA } from '../webhooks/delivery-outbox';
import { WEBHOOKS_STREAM } from '../webhooks/domain/webhooks';

/*
 * The projection itself, free of Nest: the service's Projector runs it live, and the CLI
 * (rebuild, check, audit) runs it with the service stopped.
 */
export const READ_MODEL_DB = Symbol('READ_MODEL_DB');

const CHECKPOINT = 'campaigns';
/** The streams the read models are folded from. */
export const PROJECTED_STREAMS = ['campaign-', REMINDERS_STREAM_PREFIX, WEBHOOKS_STREAM];

export interface CampaignChange {
  campaignId: string;
  revision: number;
  position: number;
  type: string;
}

/** Creates or migrates the read-model tables (idempotent). */
export async function migrateReadModels(db: SqlDb): Promise<void> {
  if (db instanceof PostgresDb) await db.run(`CREATE SCHEMA IF NOT EXISTS "${db.schema.replace(/"/g, '""')}"`);
  for (const ddl of [...CAMPAIGN_READ_MODEL_SCHEMA, ...REMINDER_READ_MODEL_SCHEMA, ...DELIVERY_SCHEMA]) await db.run(ddl);
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
      // Webhook registrations, and the outbox rows of reminders (src/webhooks/delivery-outbox.ts).
      await applyDeliveryEvents(tx, defs, e);
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

