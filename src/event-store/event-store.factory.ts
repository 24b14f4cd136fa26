import { join } from 'node:path';
import type { DocketConfig } from '../config/config';
import type { EventStore } from './event-store.port';
import { SqliteEventStore } from './sqlite/sqlite-event-store';
import { PostgresEventStore } from './postgres/postgres-event-store';
import { KurrentDbEventStore } from './kurrentdb/kurrentdb-event-store';

/**
 * The store the configuration names (DOCKET_STORE). A server store that is down at
 * boot does not stop the service: it starts, reports the store down on /health,
 * answers commands with 503, and connects (and migrates) as soon as it can.
 */
export function createEventStore(config: DocketConfig, onError: (message: string) => void = () => undefined): EventStore {
  switch (config.store) {
    case 'sqlite':
      return new SqliteEventStore({ filename: join(config.dataDir, 'docket.sqlite'), synchronous: config.sqliteSynchronous });
    case 'postgres': {
      const store = new PostgresEventStore({ connectionString: config.databaseUrl!, schema: config.postgresSchema });
      store.init().catch((e) => onError(`PostgreSQL is not reachable yet (${(e as Error).message}); will retry on demand`));
      return store;
    }
    case 'kurrentdb':
      return new KurrentDbEventStore({ connectionString: config.kurrentdbUrl! });
  }
}
