import { Client } from 'pg';

/** The PostgreSQL every suite that needs one talks to (CI starts it; see .ci/run). */
export const PG_URL = process.env.DOCKET_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Runs SQL on a connection of its own (schemas made up front, dropped after). */
export async function pgExec(sql: string): Promise<void> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export const dropSchema = (schema: string) => pgExec(`DROP SCHEMA IF EXISTS "${schema.replace(/"/g, '""')}" CASCADE`);
