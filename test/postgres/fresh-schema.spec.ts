import { randomBytes } from 'node:crypto';
import { PostgresEventStore } from '../../src/event-store/postgres/postgres-event-store';
import { migrateReadModels } from '../../src/projections/projection';
import { PostgresDb } from '../../src/projections/sql-db';
import { SqlSnapshotStore } from '../../src/campaigns/campaign-snapshots';
import { dropSchema, PG_URL } from '../support/postgres';

/**
 * A service starting on a schema that does not exist yet creates it from three places at
 * once (the event store, the read models, the snapshots), and a second instance may do the
 * same: none of them may fail on the others' CREATE SCHEMA.
 */
describe('a fresh PostgreSQL schema', () => {
  const schemas: string[] = [];
  afterAll(async () => {
    for (const s of schemas) await dropSchema(s);
  });

  it('is created by the store, the read models and the snapshots of two instances starting together', async () => {
    for (let round = 0; round < 5; round++) {
      const schema = `fresh_${randomBytes(4).toString('hex')}`;
      schemas.push(schema);
      const dbs = [new PostgresDb(PG_URL, schema), new PostgresDb(PG_URL, schema)];
      const starts = await Promise.allSettled([
        PostgresEventStore.create({ connectionString: PG_URL, schema }),
        PostgresEventStore.create({ connectionString: PG_URL, schema }),
        ...dbs.map((db) => migrateReadModels(db)),
        ...dbs.map((db) => new SqlSnapshotStore(db).get('c1')),
      ]);
      expect(starts.filter((s) => s.status === 'rejected')).toEqual([]);
      for (const s of starts) if (s.status === 'fulfilled' && s.value instanceof PostgresEventStore) await s.value.close();
      for (const db of dbs) await db.close();
    }
  });
});
