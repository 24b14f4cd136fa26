import type { RecordedEvent } from '../event-store/event-store.port';
import type { DefinitionCache } from '../projections/campaign-read-model';
import type { SqlDb } from '../projections/sql-db';
import { REMINDERS_STREAM_PREFIX, ReminderData } from '../reminders/domain/reminders';
import { reminderTitles, ReminderTitles } from '../notifications/reminder-message';
import { DeliverableEventType, DELIVERABLE_EVENT_TYPES, deliveryId, WebhookRegisteredData, WebhookRemovedData, WEBHOOKS_STREAM } from './domain/webhooks';

/**
 * rm_webhooks: the webhooks as the log has them (a read model: dropped and re-projected by a
 * rebuild). delivery_outbox: one row per delivery of a reminder to a webhook or by e-mail,
 * with its state (pending → delivered | failed | cancelled | skipped). The outbox is NOT a
 * read model: it records what was sent, which the log does not know, so a rebuild keeps it,
 * and re-projection meets the existing rows (ON CONFLICT DO NOTHING) and sends nothing again;
 * settled rows past their retention are pruned (outbox-pruning.ts), and re-projection skips
 * the events below the pruning watermark (delivery_outbox_pruned).
 */
export const DELIVERY_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS rm_webhooks (
     id TEXT PRIMARY KEY, url TEXT NOT NULL, description TEXT, events TEXT, secret TEXT NOT NULL,
     created_at TEXT NOT NULL, created_by TEXT NOT NULL, removed_at TEXT, position BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS delivery_outbox (
     delivery_id TEXT PRIMARY KEY, channel TEXT NOT NULL, target TEXT NOT NULL,
     event_id TEXT NOT NULL, event_type TEXT NOT NULL, event_position BIGINT NOT NULL,
     campaign_id TEXT NOT NULL, unit_id TEXT NOT NULL, event TEXT NOT NULL, body TEXT,
     status TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt_at TEXT NOT NULL, claimed_until TEXT,
     last_attempt_at TEXT, last_status INTEGER, last_error TEXT, delivered_at TEXT, created_at TEXT NOT NULL)`,
  // The dispatcher's page in index order: no sort of every due row on each pass (the old index sorted them).
  `DROP INDEX IF EXISTS delivery_outbox_due`,
  `CREATE INDEX IF NOT EXISTS delivery_outbox_due_order ON delivery_outbox (status, next_attempt_at, event_position, delivery_id)`,
  `CREATE INDEX IF NOT EXISTS delivery_outbox_target ON delivery_outbox (channel, target, event_position)`,
  // Pruning (src/webhooks/outbox-pruning.ts) walks the outbox in log order from its watermark.
  `CREATE INDEX IF NOT EXISTS delivery_outbox_position ON delivery_outbox (event_position)`,
  // The pruning watermark (one row): every delivery of an event at or below `position` was
  // settled, past its retention and deleted; re-projecting such an event (a rebuild) adds no row
  // for it, so a pruned delivery is never sent again. Not a read model either: a rebuild keeps it.
  `CREATE TABLE IF NOT EXISTS delivery_outbox_pruned (
     id INTEGER PRIMARY KEY, position BIGINT NOT NULL, rows_pruned BIGINT NOT NULL, pruned_at TEXT NOT NULL)`,
];

/** The log position through which the outbox has been pruned (0: nothing pruned yet). */
export async function prunedThrough(db: SqlDb): Promise<number> {
  const [row] = await db.all<{ position: number | string }>('SELECT position FROM delivery_outbox_pruned WHERE id = 1');
  return row ? Number(row.position) : 0;
}

/** Dropped by `docket projections rebuild`; delivery_outbox deliberately is not. */
export const WEBHOOK_READ_MODEL_TABLES = ['rm_webhooks'];

/** Where a reminder's e-mail goes: the unit's addresses, or the leading group's for an escalation. */
export const LEADING_GROUP = 'leading-group';
export const unitRecipient = (unit: string) => `unit:${unit}`;

/** What an outbox row keeps of its event: enough to word the message without the read models. */
export interface OutboxEvent {
  id: string;
  type: DeliverableEventType;
  occurredAt: string;
  campaignTitle: string;
  titles: ReminderTitles;
  data: ReminderData;
}

export interface OutboxRow {
  delivery_id: string;
  channel: 'webhook' | 'email';
  target: string;
  event_id: string;
  event_type: string;
  event_position: number | string;
  campaign_id: string;
  unit_id: string;
  event: string;
  body: string | null;
  status: 'pending' | 'delivered' | 'failed' | 'cancelled' | 'skipped';
  attempts: number | string;
  next_attempt_at: string;
  claimed_until: string | null;
  last_attempt_at: string | null;
  last_status: number | string | null;
  last_error: string | null;
  delivered_at: string | null;
  created_at: string;
}

/**
 * The delivery side of projecting one event, inside the projector's transaction (so an
 * outbox row exists exactly when the checkpoint has passed its event): webhook
 * registrations update rm_webhooks; a reminder gets one outbox row per webhook active at
 * that point of the log (and wanting its type) and one e-mail row, unless it is at or below
 * `pruned` (prunedThrough, read once per batch). Idempotent.
 */
export async function applyDeliveryEvents(db: SqlDb, defs: DefinitionCache, event: RecordedEvent, pruned: number): Promise<void> {
  if (event.streamId === WEBHOOKS_STREAM) return applyWebhookEvent(db, event);
  if (!event.streamId.startsWith(REMINDERS_STREAM_PREFIX)) return;
  if (!(DELIVERABLE_EVENT_TYPES as readonly string[]).includes(event.type)) return;
  // Its deliveries were settled and pruned: a re-projection must not queue them again.
  if (event.position <= pruned) return;
  const type = event.type as DeliverableEventType;
  const d = event.data as ReminderData;
  const [campaign] = await db.all<{ title: string; definition_hash: string }>('SELECT title, definition_hash FROM rm_campaigns WHERE id = ?', [d.campaignId]);
  let titles: ReminderTitles = { stage: { zh: d.stage, en: d.stage }, deliverables: {} };
  if (campaign) titles = reminderTitles(await defs.get(db, campaign.definition_hash), d.stage);
  const occurredAt: string = event.metadata.occurredAt ?? event.recordedAt;
  const snapshot: OutboxEvent = { id: event.id, type, occurredAt, campaignTitle: campaign?.title ?? d.campaignId, titles, data: d };
  const json = JSON.stringify(snapshot);
  const insert = (channel: 'webhook' | 'email', target: string) =>
    db.run(
      `INSERT INTO delivery_outbox (delivery_id, channel, target, event_id, event_type, event_position, campaign_id, unit_id, event, body,
         status, attempts, next_attempt_at, claimed_until, last_attempt_at, last_status, last_error, delivered_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 'pending', 0, ?, NULL, NULL, NULL, NULL, NULL, ?) ON CONFLICT (delivery_id) DO NOTHING`,
      [deliveryId(channel, target, event.id), channel, target, event.id, type, event.position, d.campaignId, d.unit, json, occurredAt, occurredAt],
    );
  const hooks = await db.all<{ id: string; events: string | null }>('SELECT id, events FROM rm_webhooks WHERE removed_at IS NULL ORDER BY position');
  for (const h of hooks) {
    const wanted: string[] | null = h.events ? JSON.parse(h.events) : null;
    if (!wanted || wanted.includes(type)) await insert('webhook', h.id);
  }
  // Always one e-mail row: whether and to whom it is sent is decided at dispatch, from the mail
  // configuration; deciding it here would make re-projection depend on today's configuration.
  await insert('email', type === 'ReminderEscalated' ? LEADING_GROUP : unitRecipient(d.unit));
}

async function applyWebhookEvent(db: SqlDb, event: RecordedEvent): Promise<void> {
  const at: string = event.metadata.occurredAt ?? event.recordedAt;
  if (event.type === 'WebhookRegistered') {
    const d = event.data as WebhookRegisteredData;
    await db.run(
      `INSERT INTO rm_webhooks (id, url, description, events, secret, created_at, created_by, removed_at, position)
       VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?) ON CONFLICT (id) DO NOTHING`,
      [d.id, d.url, d.description ?? null, d.events ? JSON.stringify(d.events) : null, JSON.stringify(d.secret), at, event.metadata.actor?.sub ?? '', event.position],
    );
  } else if (event.type === 'WebhookRemoved') {
    const d = event.data as WebhookRemovedData;
    await db.run('UPDATE rm_webhooks SET removed_at = ? WHERE id = ? AND removed_at IS NULL', [at, d.id]);
    // What was not sent yet is not sent any more: the bureau took the receiver away.
    await db.run(`UPDATE delivery_outbox SET status = 'cancelled', last_error = 'webhook removed', claimed_until = NULL WHERE channel = 'webhook' AND target = ? AND status = 'pending'`, [d.id]);
  }
}
