import { join } from 'node:path';
import type { StorageConfig } from '../config/config';
import { PostgresDb, SqliteDb, SqlDb } from './sql-db';

/**
 * Read models live beside the log: PostgreSQL tables in the store's schema, or an
 * SQLite file in the data dir (read models are disposable, so NORMAL sync: a crash
 * keeps them consistent with their checkpoint, a power cut at worst re-projects a little).
 */
export function createReadModelDb(config: StorageConfig): SqlDb {
  return config.readModels === 'postgres'
    ? new PostgresDb(config.databaseUrl!, config.postgresSchema)
    : new SqliteDb(join(config.dataDir, 'read-models.sqlite'), 'NORMAL');
}
