import type { RecordedEvent } from '../event-store/event-store.port';
import type { ReminderData } from './domain/reminders';
import { REMINDERS_STREAM_PREFIX } from './domain/reminders';
import type { SqlDb } from '../projections/sql-db';

/**
 * rm_reminders: every reminder issued (the inbox GET /api/reminders answers from);
 * rm_reminder_due: per campaign, the revision its schedule was last decided at (every change of
 * stage, deadline or deliverable moves it) and when its next reminder falls due: the due index
 * the scheduler scans. It replaces rm_reminder_timers, which kept stage and deadline instead of
 * the revision: a campaign that changed after its schedule had run out (a plan returned after
 * the last reminder) was never visited again.
 */
export const REMINDER_READ_MODEL_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS rm_reminders (
     id TEXT PRIMARY KEY, campaign_id TEXT NOT NULL, stage TEXT NOT NULL, unit_id TEXT NOT NULL, level TEXT NOT NULL,
     occurrence INTEGER NOT NULL, due_at TEXT NOT NULL, issued_at TEXT NOT NULL, late INTEGER NOT NULL,
     deadline TEXT NOT NULL, deliverables TEXT NOT NULL, position BIGINT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS rm_reminders_unit ON rm_reminders (unit_id, position)`,
  `CREATE INDEX IF NOT EXISTS rm_reminders_campaign ON rm_reminders (campaign_id, position)`,
  `CREATE INDEX IF NOT EXISTS rm_reminders_position ON rm_reminders (position)`,
  `DROP TABLE IF EXISTS rm_reminder_timers`,
  `CREATE TABLE IF NOT EXISTS rm_reminder_due (
     campaign_id TEXT PRIMARY KEY, revision BIGINT NOT NULL, next_due_at TEXT)`,
  `CREATE INDEX IF NOT EXISTS rm_reminder_due_next ON rm_reminder_due (next_due_at)`,
];

export const REMINDER_READ_MODEL_TABLES = ['rm_reminders', 'rm_reminder_due'];

export interface ReminderRow {
  id: string;
  campaign_id: string;
  stage: string;
  unit_id: string;
  level: string;
  occurrence: number;
  due_at: string;
  issued_at: string;
  late: number;
  deadline: string;
  deliverables: string;
  position: number;
}

/** Applies one reminder event (idempotent: the event id is the row's key). */
export async function applyReminderEvent(db: SqlDb, event: RecordedEvent): Promise<boolean> {
  if (!event.streamId.startsWith(REMINDERS_STREAM_PREFIX)) return false;
  if (event.type !== 'ReminderIssued' && event.type !== 'ReminderEscalated') return false;
  const d = event.data as ReminderData;
  await db.run(
    `INSERT INTO rm_reminders (id, campaign_id, stage, unit_id, level, occurrence, due_at, issued_at, late, deadline, deliverables, position)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    [event.id, d.campaignId, d.stage, d.unit, d.level, d.occurrence, d.dueAt, event.metadata.occurredAt, d.late ? 1 : 0, d.deadline, JSON.stringify(d.deliverables), event.position],
  );
  return true;
}
