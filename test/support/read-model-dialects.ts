import { randomBytes } from 'node:crypto';
import { PostgresDb, SqliteDb, SqlDb } from '../../src/projections/sql-db';
import { migrateReadModels } from '../../src/projections/projection';

import { dropSchema, PG_URL } from './postgres';

export { PG_URL };

/** The read-model databases every projection spec runs on: in-memory SQLite, and PostgreSQL in a throwaway schema. */
export function readModelDialects(schemaPrefix: string): [string, () => Promise<{ db: SqlDb; drop: () => Promise<void> }>][] {
  return [
    ['SQLite', async () => ({ db: new SqliteDb(':memory:'), drop: async () => undefined })],
    [
      'PostgreSQL',
      async () => {
        const schema = `${schemaPrefix}_${randomBytes(4).toString('hex')}`;
        return {
          db: new PostgresDb(PG_URL, schema),
          drop: () => dropSchema(schema),
        };
      },
    ],
  ];
}

/**
 * Inside a describe: opens one dialect's read-model database with its tables before the tests
 * (handing it to `opened`), and closes and drops it after them.
 */
export function migratedReadModelDb(make: () => Promise<{ db: SqlDb; drop: () => Promise<void> }>, opened: (db: SqlDb) => void): void {
  let made: { db: SqlDb; drop: () => Promise<void> };
  beforeAll(async () => {
    made = await make();
    await migrateReadModels(made.db);
    opened(made.db);
  });
  afterAll(async () => {
    await made.db.close();
    await made.drop();
  });
}
