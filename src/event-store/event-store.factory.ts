import { join } from 'node:path';
import type { StorageConfig } from '../config/config';
import type { EventStore } from './event-store.port';
import { SqliteEventStore } from './sqlite/sqlite-event-store';

/**
 * The store the configuration names (DOCKET_STORE). A server store that is down at
 * boot does not stop the service: it starts, reports the store down on /health,
 * answers commands with 503, and connects (and migrates) as soon as it can.
 *
 * The server adapters are required only when configured: the KurrentDB client (gRPC,
 * protobuf and a native bridge) and the PostgreSQL adapter would otherwise cost every SQLite process
 * their code and heap (docs/operations.md, "Memory").
 */
export function createEventStore(config: StorageConfig, onError: (message: string) => void = () => undefined): EventStore {
  switch (config.store) {
    case 'sqlite':
      return new SqliteEventStore({ filename: join(config.dataDir, 'docket.sqlite'), synchronous: config.sqliteSynchronous, writerThread: config.sqliteWriterThread });
    case 'postgres': {
      const { PostgresEventStore } = require('./postgres/postgres-event-store') as typeof import('./postgres/postgres-event-store');
      const store = new PostgresEventStore({ connectionString: config.databaseUrl!, schema: config.postgresSchema });
      store.init().catch((e) => onError(`PostgreSQL is not reachable yet (${(e as Error).message}); will retry on demand`));
      return store;
    }
    case 'kurrentdb': {
      const { KurrentDbEventStore } = require('./kurrentdb/kurrentdb-event-store') as typeof import('./kurrentdb/kurrentdb-event-store');
      return new KurrentDbEventStore({ connectionString: config.kurrentdbUrl! });
    }
  }
}
