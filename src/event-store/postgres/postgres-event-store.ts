import { createHash } from 'node:crypto';
import { Client, DatabaseError, Pool, PoolClient } from 'pg';
import { isPgUnavailable, resilientPool } from '../../common/pg-pool';
import { assertDistinctIds, repeatedAppendResult, StoredId } from '../append-rules';
import { SubscriptionHub } from '../catch-up-subscription';
import {
  AppendOptions,
  AppendResult,
  checkExpected,
  ConcurrencyError,
  EventData,
  EventHandler,
  EventStore,
  ExpectedRevision,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StoreUnavailableError,
  StreamInfo,
  SubscribeToAllOptions,
  Subscription,
} from '../event-store.port';

export interface PostgresEventStoreOptions {
  /** e.g. postgres://user@host:5432/db */
  connectionString: string;
  /** Schema holding the tables; created if missing. Default 'public'. */
  schema?: string;
  /** Pool size. Default 10. */
  poolSize?: number;
  /** How long to wait for a connection before failing with StoreUnavailableError. Default 10 s. */
  connectTimeoutMs?: number;
  /** Safety net for missed NOTIFYs (listener reconnecting): idle subscriptions re-read this often. Default 1 s. */
  pollIntervalMs?: number;
}

interface Row {
  position: string;
  stream_id: string;
  revision: string;
  id: string;
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
  recorded_at: Date;
}

const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** Named (prepared) statements list their columns: a column added later must not change a prepared result type. */
const COLUMNS = 'position, stream_id, revision, id, type, data, metadata, recorded_at';

/**
 * The expected revision as docket_append takes it: 'any', 'no_stream', 'stream_exists', or a number
 * compared as text with the current revision. Anything else (a non-integer, or a string from an
 * untyped caller) becomes a value that never matches, so the function refuses exactly when
 * checkExpected would.
 */
function expectedAsText(expected: ExpectedRevision | undefined): string {
  if (expected === undefined || expected === 'any' || expected === 'no_stream' || expected === 'stream_exists') return expected ?? 'any';
  return typeof expected === 'number' && Number.isSafeInteger(expected) ? String(expected) : 'never';
}

/** What docket_append answers; see appendFunctionSql. */
interface AppendRow {
  r_status: 'ok' | 'stored' | 'conflict';
  r_revision: string | null;
  r_position: string | null;
  r_stored: Array<StoredId & { id: string }> | null;
}

function toRecorded(r: Row): RecordedEvent {
  return {
    id: r.id,
    streamId: r.stream_id,
    type: r.type,
    revision: Number(r.revision),
    position: Number(r.position),
    data: r.data,
    metadata: r.metadata,
    recordedAt: r.recorded_at.toISOString(),
  };
}

/**
 * PostgreSQL adapter.
 *
 * Global order: positions come from a one-row counter (`head`) that every append updates first,
 * inside its transaction. The row lock serialises appends until commit, so positions are handed
 * out and become visible in the same order: a reader that has seen position P never later meets
 * a new event below P. A plain sequence would not give that: nextval() is taken at insert time but
 * transactions commit in any order, so a slow transaction can publish position 7 after a reader
 * has moved past 8 and the reader (or a catch-up subscription) skips it forever.
 * Why the counter row rather than pg_advisory_xact_lock: the lock is scoped to this schema (advisory
 * keys are database-wide and shared with every other user of the database), a refused append
 * returns its positions (no holes), and under the lock the expected-revision and duplicate-id checks
 * read committed state, so they need no retry loop.
 *
 * One round trip per append: the migration creates `<schema>.docket_append(...)`, a PL/pgSQL
 * function that does the whole append (head update, duplicate-id lookup, expected-revision check,
 * insert, stream upsert, NOTIFY) in one autocommitted statement, called through a named prepared
 * statement. The lock is held for that one statement plus its commit, so writers still take turns
 * (one at a time, which suits command traffic; bulk imports should batch events per append) but
 * each turn is short. Data and metadata travel as json[] and are stored as json, as written.
 * The function does not decide the port's rules; it only refuses to write and hands back what it
 * found (the stored ids, or the current revision), and the shared rules in append-rules.ts and
 * checkExpected turn that into the answer or the error, as for every adapter.
 */
export class PostgresEventStore implements EventStore {
  readonly schema: string;
  readonly connectionString: string;
  private readonly pool: Pool;
  private readonly hub: SubscriptionHub;
  private readonly channel: string;
  private readonly t: { events: string; streams: string; head: string; append: string };
  private initialised?: Promise<void>;
  private listener?: Client;
  private reconnectTimer?: NodeJS.Timeout;
  private closed = false;

  /** Constructs and migrates; fails with StoreUnavailableError when the server cannot be reached. */
  static async create(options: PostgresEventStoreOptions): Promise<PostgresEventStore> {
    const store = new PostgresEventStore(options);
    try {
      await store.init();
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  constructor(options: PostgresEventStoreOptions) {
    this.connectionString = options.connectionString;
    this.schema = options.schema ?? 'public';
    const s = quote(this.schema);
    this.t = { events: `${s}.events`, streams: `${s}.streams`, head: `${s}.head`, append: `${s}.docket_append` };
    const channel = `docket_events_${this.schema}`;
    // Channel names are identifiers: at most 63 bytes.
    this.channel =
      Buffer.byteLength(channel) <= 63
        ? channel
        : `docket_events_${createHash('sha256').update(this.schema).digest('hex').slice(0, 32)}`;
    this.pool = resilientPool({
      connectionString: options.connectionString,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    });
    this.hub = new SubscriptionHub((o) => this.readAll(o), { pollIntervalMs: options.pollIntervalMs ?? 1000 });
  }

  /** Creates or migrates the schema; idempotent, safe when several processes start at once. */
  init(): Promise<void> {
    this.initialised ??= this.migrate().catch((error) => {
      this.initialised = undefined;
      throw error;
    });
    return this.initialised;
  }

  private async migrate(): Promise<void> {
    await this.transaction(async (client) => {
      // Concurrent CREATE ... IF NOT EXISTS can still collide in the catalogue; take turns.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`docket.event-store:${this.schema}`]);
      await client.query(`
        CREATE SCHEMA IF NOT EXISTS ${quote(this.schema)};
        CREATE TABLE IF NOT EXISTS ${this.t.events} (
          position    bigint      PRIMARY KEY,
          stream_id   text        NOT NULL,
          revision    bigint      NOT NULL,
          id          text        NOT NULL UNIQUE,
          type        text        NOT NULL,
          -- json, not jsonb: keeps the text as written (key order), which the hash chain relies on.
          data        json        NOT NULL,
          metadata    json        NOT NULL,
          recorded_at timestamptz NOT NULL DEFAULT now(),
          UNIQUE (stream_id, revision)
        );
        CREATE TABLE IF NOT EXISTS ${this.t.streams} (
          stream_id        text   PRIMARY KEY,
          revision         bigint NOT NULL,
          created_position bigint NOT NULL
        );
        CREATE INDEX IF NOT EXISTS streams_created ON ${this.t.streams} (created_position);
        CREATE TABLE IF NOT EXISTS ${this.t.head} (
          one      boolean PRIMARY KEY DEFAULT true CHECK (one),
          position bigint  NOT NULL
        );
        INSERT INTO ${this.t.head} (one, position) VALUES (true, 0) ON CONFLICT DO NOTHING;
        ${this.appendFunctionSql()}
      `);
    });
  }

  async appendToStream(streamId: string, events: EventData[], options: AppendOptions = {}): Promise<AppendResult> {
    assertDistinctIds(streamId, events);
    await this.ready();
    if (events.length === 0) {
      const current = await this.streamRevision(streamId);
      checkExpected(streamId, options.expectedRevision, current);
      return { nextExpectedRevision: current, position: 0 };
    }
    const expected = options.expectedRevision;
    let row: AppendRow;
    try {
      [row] = await this.query<AppendRow>(
        {
          name: 'docket_append',
          text: `SELECT r_status, r_revision, r_position, r_stored
                 FROM ${this.t.append}($1::text, $2::text, $3::text[], $4::text[], $5::json[], $6::json[])`,
        },
        [
          streamId,
          expectedAsText(expected),
          events.map((e) => e.id),
          events.map((e) => e.type),
          events.map((e) => JSON.stringify(e.data ?? null)),
          events.map((e) => JSON.stringify(e.metadata ?? {})),
        ],
      );
    } catch (error) {
      // Unreachable while every writer goes through the head lock; kept for foreign writers.
      if (error instanceof DatabaseError && error.code === '23505' && error.constraint?.includes('revision')) {
        throw new ConcurrencyError(streamId, expected ?? 'any', await this.streamRevision(streamId));
      }
      throw error;
    }
    switch (row.r_status) {
      case 'ok':
        this.hub.notify();
        return { nextExpectedRevision: Number(row.r_revision), position: Number(row.r_position) };
      case 'stored': {
        // Some ids are stored already: nothing was written; the shared rules say retry or duplicate.
        const stored = new Map(row.r_stored!.map((s) => [s.id, s]));
        const repeated = repeatedAppendResult(streamId, events, (id) => stored.get(id));
        if (repeated) return repeated;
        break;
      }
      case 'conflict':
        checkExpected(streamId, expected, Number(row.r_revision)); // throws ConcurrencyError
        break;
    }
    throw new Error(`PostgreSQL event store: docket_append answered ${row.r_status} for stream ${streamId}, which the port's rules do not explain`);
  }

  /**
   * The append as one statement (see the class comment). Positions are taken first (the head row
   * lock), so every later statement in the function reads what the previous writer committed (each
   * statement of a volatile function takes a fresh snapshot under READ COMMITTED). A refused append
   * gives its positions back before it returns, so the counter has no holes.
   * Answers: ok (r_revision, r_position: the new revision and last position), stored (nothing
   * written; r_stored: where the batch's already-stored ids are), conflict (nothing written;
   * r_revision: the current revision, -1 for no stream).
   * Plain statements rather than one statement of CTEs: each costs less to execute, and the
   * single-event command (the common case) inserts from VALUES rather than unnest.
   */
  private appendFunctionSql(): string {
    const { head, events, streams } = this.t;
    const body = `
      DECLARE
        n      bigint := cardinality(p_ids);
        v_last bigint;
        v_cur  bigint;
      BEGIN
        UPDATE ${head} SET position = position + n RETURNING position INTO v_last;
        SELECT (SELECT s.revision FROM ${streams} s WHERE s.stream_id = p_stream),
               (SELECT json_agg(json_build_object('id', e.id, 'streamId', e.stream_id, 'revision', e.revision, 'position', e.position))
                FROM ${events} e WHERE e.id = ANY (p_ids))
          INTO v_cur, r_stored;
        v_cur := coalesce(v_cur, -1);
        IF r_stored IS NOT NULL
           OR NOT (p_expected = 'any'
                   OR (p_expected = 'no_stream' AND v_cur = -1)
                   OR (p_expected = 'stream_exists' AND v_cur >= 0)
                   OR p_expected = v_cur::text) THEN
          -- Nothing written: give the positions back.
          UPDATE ${head} SET position = position - n;
          r_status := CASE WHEN r_stored IS NULL THEN 'conflict' ELSE 'stored' END;
          r_revision := v_cur;
          RETURN;
        END IF;
        IF n = 1 THEN
          INSERT INTO ${events} (position, stream_id, revision, id, type, data, metadata)
          VALUES (v_last, p_stream, v_cur + 1, p_ids[1], p_types[1], p_data[1], p_metadata[1]);
        ELSE
          INSERT INTO ${events} (position, stream_id, revision, id, type, data, metadata)
          SELECT v_last - n + u.ord, p_stream, v_cur + u.ord, u.id, u.type, u.data, u.metadata
          FROM unnest(p_ids, p_types, p_data, p_metadata) WITH ORDINALITY AS u(id, type, data, metadata, ord);
        END IF;
        IF v_cur = -1 THEN
          INSERT INTO ${streams} (stream_id, revision, created_position) VALUES (p_stream, n - 1, v_last - n + 1)
          ON CONFLICT (stream_id) DO UPDATE SET revision = excluded.revision;
        ELSE
          UPDATE ${streams} SET revision = v_cur + n WHERE stream_id = p_stream;
        END IF;
        -- Delivered at commit, to every store listening on this schema.
        PERFORM pg_notify(${literal(this.channel)}, v_last::text);
        r_status := 'ok';
        r_revision := v_cur + n;
        r_position := v_last;
      END`;
    // The body as a plain string literal rather than dollar-quoted: the schema name may hold anything.
    return `CREATE OR REPLACE FUNCTION ${this.t.append}(
        p_stream text, p_expected text, p_ids text[], p_types text[], p_data json[], p_metadata json[],
        OUT r_status text, OUT r_revision bigint, OUT r_position bigint, OUT r_stored json)
      VOLATILE LANGUAGE plpgsql
      -- Otherwise PL/pgSQL may re-plan its statements on every call (a generic plan can look costlier to
      -- the planner than one for the given arguments), which costs more than executing them.
      SET plan_cache_mode = force_generic_plan
      -- A generic plan is kept for the session and made from what the planner knows of the tables
      -- then: on a new schema, or one analysed while small (autovacuum may be off, or not have run
      -- again since), the duplicate-id lookup became a scan of every event, on every append, for as
      -- long as the connection lived. Every lookup here has its index; with sequential scans
      -- ruled out, the plans use them whatever the statistics say. A plan with no index to use (the
      -- head row's update) is still made, costed as if disabled, which must not make it worth
      -- compiling: no JIT.
      SET enable_seqscan = off
      SET jit = off
      AS ${literal(body)};`;
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const backwards = options.direction === 'backwards';
    const from = options.fromRevision ?? (backwards ? Number.MAX_SAFE_INTEGER : 0);
    const rows = await this.query<Row>(
      {
        name: backwards ? 'docket_read_stream_backwards' : 'docket_read_stream',
        text: `SELECT ${COLUMNS} FROM ${this.t.events} WHERE stream_id = $1 AND revision ${backwards ? '<=' : '>='} $2
               ORDER BY revision ${backwards ? 'DESC' : 'ASC'} LIMIT $3`,
      },
      [streamId, from, options.maxCount ?? null],
    );
    return rows.map(toRecorded);
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const after = options.afterPosition ?? 0;
    const max = options.maxCount ?? 1000;
    const prefixes = options.streamPrefixes;
    const rows = prefixes?.length
      ? await this.query<Row>(
          {
            name: 'docket_read_all_prefixed',
            text: `SELECT ${COLUMNS} FROM ${this.t.events}
                   WHERE position > $1 AND EXISTS (SELECT 1 FROM unnest($3::text[]) p WHERE starts_with(stream_id, p))
                   ORDER BY position ASC LIMIT $2`,
          },
          [after, max, prefixes],
        )
      : await this.query<Row>(
          {
            name: 'docket_read_all',
            text: `SELECT ${COLUMNS} FROM ${this.t.events} WHERE position > $1 ORDER BY position ASC LIMIT $2`,
          },
          [after, max],
        );
    return rows.map(toRecorded);
  }

  async streamRevision(streamId: string): Promise<number> {
    const rows = await this.query<{ revision: string }>(
      { name: 'docket_stream_revision', text: `SELECT revision FROM ${this.t.streams} WHERE stream_id = $1` },
      [streamId],
    );
    return rows.length ? Number(rows[0].revision) : -1;
  }

  async listStreams(prefix?: string): Promise<StreamInfo[]> {
    const rows = await this.query<{ stream_id: string; revision: string }>(
      `SELECT stream_id, revision FROM ${this.t.streams}
       WHERE $1::text IS NULL OR starts_with(stream_id, $1) ORDER BY created_position ASC`,
      [prefix ?? null],
    );
    return rows.map((r) => ({ streamId: r.stream_id, revision: Number(r.revision) }));
  }

  subscribeToAll(options: SubscribeToAllOptions, handler: EventHandler): Subscription {
    if (this.closed) throw new StoreUnavailableError('the PostgreSQL event store is closed');
    const subscription = this.hub.subscribe(options, handler);
    void this.listen();
    return subscription;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.hub.closeAll();
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    const listener = this.listener;
    this.listener = undefined;
    await Promise.all([listener?.end().catch(() => undefined), this.pool.end().catch(() => undefined)]);
  }

  /** One LISTEN connection per store wakes its subscriptions when any process commits an append. */
  private async listen(): Promise<void> {
    if (this.listener || this.closed) return;
    const client = new Client({ connectionString: this.connectionString });
    this.listener = client;
    const lost = () => {
      if (this.listener !== client) return;
      this.listener = undefined;
      client.end().catch(() => undefined);
      if (this.closed || this.reconnectTimer) return;
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = undefined;
        if (this.hub.size > 0) void this.listen();
      }, 1000);
      this.reconnectTimer.unref();
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', () => this.hub.notify());
    try {
      await client.connect();
      await client.query(`LISTEN ${quote(this.channel)}`);
      this.hub.notify(); // anything committed while we were not listening
    } catch {
      lost(); // the subscriptions' polling carries on meanwhile
    }
    if (this.closed) await client.end().catch(() => undefined);
  }

  private async ready(): Promise<void> {
    if (this.closed) throw new StoreUnavailableError('the PostgreSQL event store is closed');
    await this.init();
  }

  /**
   * A statement given a name is prepared once per connection of the pool and then only bound and
   * executed (no parse or plan per call). Names are per pool, and each store has its own pool.
   */
  private async query<R extends object>(sql: string | { name: string; text: string }, params: unknown[]): Promise<R[]> {
    await this.ready();
    try {
      const statement = typeof sql === 'string' ? { text: sql } : sql;
      return (await this.pool.query<R>({ ...statement, values: params })).rows;
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  /** Runs work in a transaction (the migration; appends are single autocommitted statements). */
  private async transaction(work: (client: PoolClient) => Promise<void>): Promise<void> {
    if (this.closed) throw new StoreUnavailableError('the PostgreSQL event store is closed');
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw this.unavailable(error);
    }
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      await work(client);
      await client.query('COMMIT');
    } catch (error) {
      const mapped = this.unavailable(error);
      if (mapped instanceof StoreUnavailableError) broken = mapped;
      else await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw mapped;
    } finally {
      client.release(broken);
    }
  }

  private unavailable(error: unknown): unknown {
    if (error instanceof StoreUnavailableError) return error;
    return isPgUnavailable(error) ? new StoreUnavailableError(`PostgreSQL event store: ${(error as Error).message}`, error) : error;
  }
}
