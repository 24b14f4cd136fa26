import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Pool, PoolClient } from 'pg';
import { isPgUnavailable, resilientPool } from '../common/pg-pool';
import { StoreUnavailableError } from '../event-store/event-store.port';

/**
 * The little SQL the read models need, over SQLite or PostgreSQL. Statements are
 * written once with `?` placeholders in the common dialect (INSERT … ON CONFLICT,
 * plain types); the PostgreSQL side renumbers them to $1, $2, ….
 */
export interface SqlDb {
  readonly dialect: 'sqlite' | 'postgres';
  run(sql: string, params?: unknown[]): Promise<void>;
  all<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /**
   * `INSERT INTO table (columns) VALUES (…) tail` for every row, in as few statements as the
   * dialect allows (PostgreSQL: one INSERT … SELECT FROM unnest(arrays) per few thousand rows;
   * SQLite: one prepared statement run per row, which is as fast there). `tail` is an ON CONFLICT
   * clause; no two rows may share a key. Meant for a transaction: the statements land together.
   */
  insertRows(table: string, columns: readonly Column[], rows: unknown[][], tail?: string): Promise<void>;
  /** Runs `work` in one transaction: all of it lands, or none. */
  transaction<T>(work: (tx: SqlDb) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A column of insertRows: its name and SQL type (PostgreSQL types its arrays with it). */
export type Column = readonly [name: string, type: 'text' | 'integer' | 'bigint'];

export class SqliteDb implements SqlDb {
  readonly dialect = 'sqlite';
  readonly db: Database.Database;
  private readonly cache = new Map<string, Database.Statement>();

  constructor(filename: string, synchronous: 'FULL' | 'NORMAL' = 'FULL') {
    if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true });
    this.db = new Database(filename);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${synchronous}`);
    this.db.pragma('busy_timeout = 10000');
  }

  private stmt(sql: string): Database.Statement {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }

  async run(sql: string, params: unknown[] = []): Promise<void> {
    if (params.length === 0 && /;\s*\S/.test(sql)) this.db.exec(sql);
    else this.stmt(sql).run(...params);
  }

  async all<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.stmt(sql).all(...params) as T[];
  }

  async insertRows(table: string, columns: readonly Column[], rows: unknown[][], tail = ''): Promise<void> {
    if (rows.length === 0) return;
    const stmt = this.stmt(`INSERT INTO ${table} (${columns.map((c) => c[0]).join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ${tail}`);
    for (const row of rows) stmt.run(row);
  }

  async transaction<T>(work: (tx: SqlDb) => Promise<T>): Promise<T> {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = await work(this);
      this.db.exec('COMMIT');
      return result;
    } catch (e) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw e;
    }
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/** Rows per INSERT on PostgreSQL: one statement for a typical batch, arrays of a few MB at most. */
const PG_INSERT_ROWS = 5000;

/** INSERT … SELECT FROM unnest($1::type[], …): one parameter per column, whatever the number of rows. */
async function pgInsertRows(query: (sql: string, params: unknown[]) => Promise<unknown>, table: string, columns: readonly Column[], rows: unknown[][], tail: string) {
  const sql = `INSERT INTO ${table} (${columns.map((c) => c[0]).join(', ')}) SELECT * FROM unnest(${columns.map((c, i) => `$${i + 1}::${c[1]}[]`).join(', ')}) ${tail}`;
  for (let i = 0; i < rows.length; i += PG_INSERT_ROWS) {
    const chunk = rows.length <= PG_INSERT_ROWS ? rows : rows.slice(i, i + PG_INSERT_ROWS);
    await query(sql, columns.map((_, k) => chunk.map((r) => r[k])));
  }
}

const toPg = (sql: string) => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};

function unavailable(e: unknown): never {
  if (e instanceof StoreUnavailableError) throw e;
  if (isPgUnavailable(e)) throw new StoreUnavailableError(`PostgreSQL (read models) unavailable: ${(e as Error).message}`, e);
  throw e;
}

class PgClientDb implements SqlDb {
  readonly dialect = 'postgres';
  constructor(private readonly client: PoolClient) {}
  async run(sql: string, params: unknown[] = []) {
    await this.client.query(toPg(sql), params).catch(unavailable);
  }
  async all<T>(sql: string, params: unknown[] = []) {
    return (await this.client.query(toPg(sql), params).catch(unavailable)).rows as T[];
  }
  async insertRows(table: string, columns: readonly Column[], rows: unknown[][], tail = '') {
    if (rows.length) await pgInsertRows((sql, params) => this.client.query(sql, params).catch(unavailable), table, columns, rows, tail);
  }
  transaction<T>(work: (tx: SqlDb) => Promise<T>): Promise<T> {
    return work(this);
  }
  async close() {}
}

export class PostgresDb implements SqlDb {
  readonly dialect = 'postgres';
  readonly pool: Pool;

  constructor(connectionString: string, readonly schema = 'public') {
    this.pool = resilientPool({ connectionString, max: 5, connectionTimeoutMillis: 10_000, options: `-c search_path=${schema}` });
  }

  async run(sql: string, params: unknown[] = []): Promise<void> {
    await this.pool.query(toPg(sql), params).catch(unavailable);
  }

  async all<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.pool.query(toPg(sql), params).catch(unavailable)).rows as T[];
  }

  async insertRows(table: string, columns: readonly Column[], rows: unknown[][], tail = ''): Promise<void> {
    if (rows.length) await pgInsertRows((sql, params) => this.pool.query(sql, params).catch(unavailable), table, columns, rows, tail);
  }

  async transaction<T>(work: (tx: SqlDb) => Promise<T>): Promise<T> {
    const client = await this.pool.connect().catch(unavailable);
    try {
      await client.query('BEGIN').catch(unavailable);
      const result = await work(new PgClientDb(client));
      await client.query('COMMIT').catch(unavailable);
      client.release();
      return result;
    } catch (e) {
      // A lost connection goes back to the pool as broken (the pool then drops it), not reused.
      let broken: Error | undefined = e instanceof StoreUnavailableError ? e : undefined;
      if (!broken) await client.query('ROLLBACK').catch((r: Error) => (broken = r));
      client.release(broken);
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * Runs DDL statements (CREATE … IF NOT EXISTS). On PostgreSQL they run in one transaction,
 * after creating the schema, under the advisory lock the event store takes for its own
 * migration: concurrent creations in one schema (the store, the read models and the
 * snapshots of a starting service; two instances) otherwise collide in the catalogue.
 */
export async function migrate(db: SqlDb, statements: readonly string[]): Promise<void> {
  if (!(db instanceof PostgresDb)) {
    for (const ddl of statements) await db.run(ddl);
    return;
  }
  await db.transaction(async (tx) => {
    await tx.all('SELECT pg_advisory_xact_lock(hashtext(?))', [`docket.event-store:${db.schema}`]);
    await tx.run(`CREATE SCHEMA IF NOT EXISTS "${db.schema.replace(/"/g, '""')}"`);
    for (const ddl of statements) await tx.run(ddl);
  });
}
