import { randomBytes } from 'node:crypto';
import { Client, PoolClient } from 'pg';
import { resilientPool } from '../../src/common/pg-pool';
import { StoreUnavailableError } from '../../src/event-store/event-store.port';
import { PostgresDb } from '../../src/projections/sql-db';
import { dropSchema, PG_URL } from '../support/postgres';

/**
 * PostgreSQL going away (shut down, restarted, a backend terminated) while the service holds a
 * connection in a transaction: the caller gets an error it can answer 503 with, and the
 * process lives on. A pg client with no 'error' listener would throw the loss and end it.
 */
describe('a PostgreSQL connection lost while checked out', () => {
  const schema = `lost_${randomBytes(4).toString('hex')}`;
  afterAll(() => dropSchema(schema));

  async function terminate(pid: number): Promise<void> {
    const admin = new Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    } finally {
      await admin.end();
    }
  }

  /** Until the client has heard of the loss (its connection's socket is closed). */
  async function lost(client: PoolClient): Promise<void> {
    const stream = (client as unknown as { connection: { stream: { destroyed: boolean } } }).connection.stream;
    for (let i = 0; i < 200 && !stream.destroyed; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 20));
  }

  it('leaves the process running and fails the next query of that client', async () => {
    const pool = resilientPool({ connectionString: PG_URL, max: 2 });
    try {
      const client = await pool.connect();
      const [{ pid }] = (await client.query('SELECT pg_backend_pid() AS pid')).rows;
      await terminate(pid);
      await lost(client);
      await expect(client.query('SELECT 1')).rejects.toThrow();
      client.release(true);
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
    }
  });

  it('fails a read-model transaction with StoreUnavailableError, and the next one succeeds', async () => {
    const db = new PostgresDb(PG_URL, schema);
    try {
      await db.run(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await db.run('CREATE TABLE IF NOT EXISTS t (n integer)');
      const failed = db.transaction(async (tx) => {
        await tx.run('INSERT INTO t VALUES (1)');
        const [{ pid }] = await tx.all<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await terminate(pid);
        await new Promise((r) => setTimeout(r, 200)); // the loss arrives between two statements
        await tx.run('INSERT INTO t VALUES (2)');
      });
      await expect(failed).rejects.toBeInstanceOf(StoreUnavailableError);
      await db.transaction((tx) => tx.run('INSERT INTO t VALUES (3)'));
      expect(await db.all('SELECT n FROM t ORDER BY n')).toEqual([{ n: 3 }]);
    } finally {
      await db.close();
    }
  });
});
