import type { EventStore } from '../event-store/event-store.port';
import { CAMPAIGN_READ_MODEL_TABLES, DefinitionCache } from './campaign-read-model';
import { catchUpBatchSize, createQueryIndexes, dropQueryIndexes, migrateReadModels, projectBatch, PROJECTED_STREAMS } from './projection';
import { REMINDER_READ_MODEL_TABLES } from '../reminders/reminder-read-model';
import type { SqlDb } from './sql-db';
import { WEBHOOK_READ_MODEL_TABLES } from '../webhooks/delivery-outbox';

/**
 * Drops the read models and projects the whole log again from position 0. Run with the service stopped.
 * The delivery outbox is kept: it records what was already sent, so re-projection sends nothing twice.
 */
export async function rebuildReadModels(store: EventStore, db: SqlDb, onProgress: (position: number, events: number) => void = () => undefined): Promise<{ events: number; position: number }> {
  for (const t of [...CAMPAIGN_READ_MODEL_TABLES, ...REMINDER_READ_MODEL_TABLES, ...WEBHOOK_READ_MODEL_TABLES]) await db.run(`DROP TABLE IF EXISTS ${t}`);
  await migrateReadModels(db);
  await dropQueryIndexes(db);
  const defs = new DefinitionCache();
  let position = 0;
  let events = 0;
  let projecting: Promise<unknown> = Promise.resolve();
  for (;;) {
    // Reads the next page while the last one is being projected.
    const [page] = await Promise.all([store.readAll({ afterPosition: position, maxCount: catchUpBatchSize(db), streamPrefixes: PROJECTED_STREAMS }), projecting]);
    if (page.length === 0) break;
    const [last, count] = [page[page.length - 1].position, events + page.length];
    projecting = projectBatch(db, defs, page).then(() => onProgress(last, count));
    position = last;
    events = count;
  }
  await createQueryIndexes(db);
  return { events, position };
}
