import { join } from 'node:path';
import type { DocketConfig } from '../config/config';
import type { EventStore } from './event-store.port';
import { SqliteEventStore } from './sqlite/sqlite-event-store';
import { PostgresEventStore } from './postgres/postgres-event-store';

/** The store the configuration names (DOCKET_STORE), opened and ready. */
export async function createEventStore(config: DocketConfig): Promise<EventStore> {
  switch (config.store) {
    case 'sqlite':
      return new SqliteEventStore({ filename: join(config.dataDir, 'docket.sqlite'), synchronous: config.sqliteSynchronous });
    case 'postgres':
      return PostgresEventStore.create({ connectionString: config.databaseUrl!, schema: config.postgresSchema });
    default:
      throw new Error(`DOCKET_STORE=${config.store} is not available in this build`);
  }
}
