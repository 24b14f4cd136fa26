import { createHash } from 'node:crypto';
import { Client, DatabaseError, Pool, PoolClient } from 'pg';
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

/** SQLSTATE classes meaning "cannot reach or use the server now", as opposed to a bad request. */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0[1-3]|58|28|3D000|40001|40P01)/;
const UNAVAILABLE_MESSAGE =
  /Connection terminated|not queryable|Cannot use a pool after calling end|timeout exceeded when trying to connect/;

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
 * keys are database-wide and shared with every other user of the database), a rolled-back append
 * returns its positions (no holes), and under the lock the expected-revision and duplicate-id checks
 * read committed state, so they need no retry loop. The cost is one writer at a time (a few
 * round trips each), which suits command traffic; bulk imports should batch events per append.
 */
export class PostgresEventStore implements EventStore {
  readonly schema: string;
  readonly connectionString: string;
  private readonly pool: Pool;
  private readonly hub: SubscriptionHub;
  private readonly channel: string;
  private readonly t: { events: string; streams: string; head: string };
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
    this.t = { events: `${s}.events`, streams: `${s}.streams`, head: `${s}.head` };
    const channel = `docket_events_${this.schema}`;
    // Channel names are identifiers: at most 63 bytes.
    this.channel =
      Buffer.byteLength(channel) <= 63
        ? channel
        : `docket_events_${createHash('sha256').update(this.schema).digest('hex').slice(0, 32)}`;
    this.pool = new Pool({
      connectionString: options.connectionString,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    });
    // An idle client losing its connection emits here; unhandled, it would kill the process.
    this.pool.on('error', () => undefined);
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
    const ids = events.map((e) => e.id);
    const result = await this.transaction(async (client) => {
      // First statement: takes the head row lock, so everything after reads committed state.
      const head = await client.query<{ position: string }>(
        `UPDATE ${this.t.head} SET position = position + $1 RETURNING position`,
        [events.length],
      );
      const last = Number(head.rows[0].position);
      const state = await client.query<{ revision: string | null; stored: StoredId[] }>(
        `SELECT (SELECT revision FROM ${this.t.streams} WHERE stream_id = $1) AS revision,
                coalesce((SELECT json_agg(json_build_object(
                            'id', id, 'streamId', stream_id, 'revision', revision, 'position', position))
                          FROM ${this.t.events} WHERE id = ANY($2::text[])), '[]') AS stored`,
        [streamId, ids],
      );
      const current = state.rows[0].revision === null ? -1 : Number(state.rows[0].revision);
      const stored = new Map(state.rows[0].stored.map((s) => [(s as StoredId & { id: string }).id, s]));
      const repeated = repeatedAppendResult(streamId, events, (id) => stored.get(id));
      if (repeated) return { rollback: true, result: repeated };
      checkExpected(streamId, options.expectedRevision, current);
      const base = last - events.length;
      // One statement for the whole batch; the NOTIFY is delivered at commit.
      await client.query(
        `WITH inserted AS (
           INSERT INTO ${this.t.events} (position, stream_id, revision, id, type, data, metadata)
           SELECT $2::bigint + n, $1, $3::bigint + n, id, type, data::json, metadata::json
           FROM unnest($4::text[], $5::text[], $6::text[], $7::text[]) WITH ORDINALITY AS u(id, type, data, metadata, n)
         ), stream AS (
           INSERT INTO ${this.t.streams} (stream_id, revision, created_position)
           VALUES ($1, $3::bigint + $8, $2::bigint + 1)
           ON CONFLICT (stream_id) DO UPDATE SET revision = excluded.revision
         )
         SELECT pg_notify($9, $10)`,
        [
          streamId,
          base,
          current,
          ids,
          events.map((e) => e.type),
          events.map((e) => JSON.stringify(e.data ?? null)),
          events.map((e) => JSON.stringify(e.metadata ?? {})),
          events.length,
          this.channel,
          String(last),
        ],
      );
      return { rollback: false, result: { nextExpectedRevision: current + events.length, position: last } };
    }).catch(async (error) => {
      // Unreachable while every writer goes through the head lock; kept for foreign writers.
      if (error instanceof DatabaseError && error.code === '23505' && error.constraint?.includes('revision')) {
        throw new ConcurrencyError(streamId, options.expectedRevision ?? 'any', await this.streamRevision(streamId));
      }
      throw error;
    });
    this.hub.notify();
    return result;
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const backwards = options.direction === 'backwards';
    const from = options.fromRevision ?? (backwards ? Number.MAX_SAFE_INTEGER : 0);
    const rows = await this.query<Row>(
      `SELECT * FROM ${this.t.events} WHERE stream_id = $1 AND revision ${backwards ? '<=' : '>='} $2
       ORDER BY revision ${backwards ? 'DESC' : 'ASC'} LIMIT $3`,
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
          `SELECT * FROM ${this.t.events}
           WHERE position > $1 AND EXISTS (SELECT 1 FROM unnest($3::text[]) p WHERE starts_with(stream_id, p))
           ORDER BY position ASC LIMIT $2`,
          [after, max, prefixes],
        )
      : await this.query<Row>(`SELECT * FROM ${this.t.events} WHERE position > $1 ORDER BY position ASC LIMIT $2`, [
          after,
          max,
        ]);
    return rows.map(toRecorded);
  }

  async streamRevision(streamId: string): Promise<number> {
    const rows = await this.query<{ revision: string }>(`SELECT revision FROM ${this.t.streams} WHERE stream_id = $1`, [
      streamId,
    ]);
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

  private async query<R extends object>(sql: string, params: unknown[]): Promise<R[]> {
    await this.ready();
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  /** Runs work in a transaction; work may ask for a rollback while still returning a result. */
  private async transaction<T>(work: (client: PoolClient) => Promise<{ rollback: boolean; result: T } | void>): Promise<T> {
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
      const outcome = await work(client);
      await client.query(outcome?.rollback ? 'ROLLBACK' : 'COMMIT');
      return outcome?.result as T;
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
    const code = (error as { code?: unknown })?.code;
    const isDbError = error instanceof DatabaseError;
    const down = isDbError
      ? typeof code === 'string' && UNAVAILABLE_SQLSTATE.test(code)
      : (typeof code === 'string' && /^E[A-Z]+$/.test(code)) ||
        (error instanceof Error && UNAVAILABLE_MESSAGE.test(error.message));
    return down ? new StoreUnavailableError(`PostgreSQL event store: ${(error as Error).message}`, error) : error;
  }
}
