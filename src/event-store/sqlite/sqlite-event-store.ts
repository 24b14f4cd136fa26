import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { assertDistinctIds, repeatedAppendResult } from '../append-rules';
import { SubscriptionHub } from '../catch-up-subscription';
import {
  AppendOptions,
  AppendResult,
  checkExpected,
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
import { GENESIS_HASH } from '../../audit/domain/hash-chain';
import { ChainHead, LinkingEventStore, linkAfter, linkEvents, UnchainedEvent, withHashes } from '../chained-append';
import { Append, SqliteWriter, settle, storageError, toWire, WireAppend } from './sqlite-writer';

export interface SqliteEventStoreOptions {
  /** File path, or ':memory:'. */
  filename: string;
  /**
   * FULL (default): an acknowledged append survives kill -9 and power loss (WAL is fsynced at commit).
   * NORMAL: survives kill -9 but a power cut may lose the last commits; about 3x faster.
   */
  synchronous?: 'FULL' | 'NORMAL';
  /**
   * How often idle subscriptions look for events written by other processes sharing the file
   * (appends through this instance wake them at once). Default 200 ms.
   */
  pollIntervalMs?: number;
  /**
   * Group commits on a writer thread (a file only; default false here, true in the service:
   * DOCKET_SQLITE_WRITER_THREAD): the event loop does not wait for their fsync (sqlite-writer.ts);
   * a lone append with nothing in flight still commits on the calling thread, where it is quicker.
   */
  writerThread?: boolean;
}

interface Row {
  position: number;
  stream_id: string;
  revision: number;
  id: string;
  type: string;
  data: string;
  metadata: string;
  recorded_at: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  position    INTEGER PRIMARY KEY AUTOINCREMENT,
  stream_id   TEXT    NOT NULL,
  revision    INTEGER NOT NULL,
  id          TEXT    NOT NULL UNIQUE,
  type        TEXT    NOT NULL,
  data        TEXT    NOT NULL,
  metadata    TEXT    NOT NULL,
  recorded_at TEXT    NOT NULL,
  UNIQUE (stream_id, revision)
);
CREATE TABLE IF NOT EXISTS streams (
  stream_id  TEXT    PRIMARY KEY,
  revision   INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS streams_created ON streams (created_at);
`;

function toRecorded(r: Row): RecordedEvent {
  return {
    id: r.id,
    streamId: r.stream_id,
    type: r.type,
    revision: r.revision,
    position: r.position,
    data: JSON.parse(r.data),
    metadata: JSON.parse(r.metadata),
    recordedAt: r.recorded_at,
  };
}

/**
 * Two groups in flight: while the thread commits one, the next is already waiting in its queue, so
 * the thread never idles for the main thread to notice an answer; the group after gathers behind
 * both (a third would only split the gathering into smaller groups, each with its own fsync).
 */
const MAX_GROUPS_IN_FLIGHT = 2;

/**
 * Under load, a group goes to the writer thread once this many appends wait (and a slot is
 * free), without waiting for the event loop to finish its turn. A turn can read 60 requests
 * ready at once, about 10 ms of deciding: sent only at its end, the whole turn would go as one
 * group, and the loop and the thread would take turns, each idle while the other works. Sent
 * early, the thread commits the first appends of a turn while the loop decides the rest. Sixteen
 * keeps a group's own costs (its fsync, two messages) small beside its appends' (measured in
 * paired runs: docs/benchmarks.md).
 */
const SEND_EARLY_AT = 16;

/** An append waiting for the next group commit. */
interface Pending extends Append {
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

/**
 * The appends `prepare` takes (linking them, or writing their data as JSON); one it throws on
 * (a BigInt or a cycle in its data) is refused alone, the others go on.
 */
function eachAlone(appends: Pending[], prepare: (p: Pending) => unknown): Pending[] {
  const kept: Pending[] = [];
  for (const p of appends) {
    try {
      prepare(p);
      kept.push(p);
    } catch (error) {
      p.reject(error);
    }
  }
  return kept;
}

/** instr(x, p) = 1 is "x starts with p" without LIKE escaping, and counts characters the same way on both sides. */
const prefixFilter = (count: number) => Array.from({ length: count }, () => 'instr(stream_id, ?) = 1').join(' OR ');

/**
 * The embedded default store. One file, WAL mode; writers are serialised by SQLite
 * (BEGIN IMMEDIATE), so the global position is also the commit order and a reader
 * never meets a gap that fills later. Several processes may share the file.
 */
export class SqliteEventStore implements LinkingEventStore {
  readonly db: Database.Database;
  private readonly stmt;
  private readonly byPrefixes = new Map<number, Database.Statement<unknown[], Row>>();
  private readonly appendTx: (streamId: string, events: EventData[], options: AppendOptions) => AppendResult;
  private readonly hub: SubscriptionHub;
  private closed = false;
  /** close() has committed what it was given: appends from now on are refused (StoreUnavailableError). */
  private stopped = false;
  /** Appends waiting for the next group commit. */
  private pending: Pending[] = [];
  private flushScheduled = false;
  private readonly savepointTx: (streamId: string, events: EventData[], options: AppendOptions) => AppendResult;
  private readonly groupTx: (batch: SqliteEventStore['pending'], results: ({ ok: AppendResult } | { error: unknown })[]) => void;
  private readonly writerOptions?: { filename: string; synchronous: 'FULL' | 'NORMAL'; busyTimeoutMs: number };
  /** Started with the first group commit (a reader, the CLI's verify say, never needs one). */
  private writer?: SqliteWriter;
  /** Group commits sent to the writer thread and not yet answered (at most MAX_GROUPS_IN_FLIGHT). */
  private readonly sending = new Set<Promise<void>>();

  constructor(options: SqliteEventStoreOptions) {
    try {
      if (options.filename !== ':memory:') mkdirSync(dirname(options.filename), { recursive: true });
      this.db = new Database(options.filename);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
      this.db.pragma('busy_timeout = 10000');
      this.db.exec(SCHEMA);
      if (options.filename !== ':memory:' && options.writerThread === true) {
        this.writerOptions = { filename: options.filename, synchronous: options.synchronous ?? 'FULL', busyTimeoutMs: 10_000 };
      }
    } catch (error) {
      this.db?.close();
      throw new StoreUnavailableError(`cannot open SQLite event store ${options.filename}: ${String(error)}`, error);
    }
    this.stmt = {
      revision: this.db.prepare<[string], { revision: number }>('SELECT revision FROM streams WHERE stream_id = ?'),
      insertStream: this.db.prepare('INSERT INTO streams (stream_id, revision, created_at) VALUES (?, ?, ?)'),
      updateStream: this.db.prepare('UPDATE streams SET revision = ? WHERE stream_id = ?'),
      insert: this.db.prepare(
        'INSERT INTO events (stream_id, revision, id, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      byId: this.db.prepare<[string], { stream_id: string; revision: number; position: number }>(
        'SELECT stream_id, revision, position FROM events WHERE id = ?',
      ),
      forwards: this.db.prepare<[string, number, number], Row>(
        'SELECT * FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision ASC LIMIT ?',
      ),
      backwards: this.db.prepare<[string, number, number], Row>(
        'SELECT * FROM events WHERE stream_id = ? AND revision <= ? ORDER BY revision DESC LIMIT ?',
      ),
      all: this.db.prepare<[number, number], Row>('SELECT * FROM events WHERE position > ? ORDER BY position ASC LIMIT ?'),
      streams: this.db.prepare<[], { stream_id: string; revision: number }>(
        'SELECT stream_id, revision FROM streams ORDER BY created_at ASC',
      ),
      streamsByPrefix: this.db.prepare<[string], { stream_id: string; revision: number }>(
        `SELECT stream_id, revision FROM streams WHERE ${prefixFilter(1)} ORDER BY created_at ASC`,
      ),
    };
    this.appendTx = this.db.transaction((streamId: string, events: EventData[], options: AppendOptions) =>
      this.appendInTx(streamId, events, options),
    ).immediate as any;
    // Inside the group transaction each append is a savepoint: a refused one rolls back alone.
    this.savepointTx = this.db.transaction((streamId: string, events: EventData[], options: AppendOptions) => this.appendInTx(streamId, events, options));
    this.groupTx = this.db.transaction((batch: SqliteEventStore['pending'], results: ({ ok: AppendResult } | { error: unknown })[]) => {
      for (const p of batch) {
        try {
          results.push({ ok: this.savepointTx(p.streamId, p.events, p.options) });
        } catch (error) {
          results.push({ error });
        }
      }
    }).immediate as any;
    this.hub = new SubscriptionHub((o) => this.readAll(o), { pollIntervalMs: options.pollIntervalMs ?? 200 });
  }

  private appendInTx(streamId: string, events: EventData[], options: AppendOptions): AppendResult {
    const current = this.stmt.revision.get(streamId)?.revision ?? -1;
    const repeated = repeatedAppendResult(streamId, events, (id) => {
      const hit = this.stmt.byId.get(id);
      return hit && { streamId: hit.stream_id, revision: hit.revision, position: hit.position };
    });
    if (repeated) return repeated;
    checkExpected(streamId, options.expectedRevision, current);
    if (events.length === 0) return { nextExpectedRevision: current, position: 0 };
    const now = new Date().toISOString();
    let revision = current;
    let position = 0;
    for (const e of events) {
      revision += 1;
      const info = this.stmt.insert.run(
        streamId,
        revision,
        e.id,
        e.type,
        JSON.stringify(e.data ?? null),
        JSON.stringify(e.metadata ?? {}),
        now,
      );
      position = Number(info.lastInsertRowid);
    }
    if (current === -1) this.stmt.insertStream.run(streamId, revision, position);
    else this.stmt.updateStream.run(revision, streamId);
    return { nextExpectedRevision: revision, position };
  }

  /**
   * Group commit: appends that arrive in the same turn of the event loop are committed in
   * one transaction (one fsync), each in its own savepoint; every promise resolves only
   * after that commit, so an acknowledged append is as durable as a lone one.
   */
  async appendToStream(streamId: string, events: EventData[], options: AppendOptions = {}): Promise<AppendResult> {
    assertDistinctIds(streamId, events);
    if (this.closed) return this.appendSync(streamId, events, options); // refused by guard() with StoreUnavailableError
    return new Promise<AppendResult>((resolve, reject) => this.enqueue({ streamId, events, options, resolve, reject }));
  }

  /**
   * appendChained's append (LinkingEventStore): the events are linked into the stream's hash
   * chain after `head` and appended with its revision as expected. A group commit that goes to
   * the writer thread is hashed there, off the event loop; one committed here is linked here.
   * Either way the events and their hashes are those linkEvents gives.
   */
  async appendLinked(streamId: string, head: ChainHead | null, unlinked: readonly UnchainedEvent[]): Promise<{ events: EventData[]; result: AppendResult }> {
    const events = unlinked.map((e) => ({ id: e.id ?? randomUUID(), type: e.type, data: e.data, metadata: e.metadata }));
    const options: AppendOptions = { expectedRevision: head ? head.revision : 'no_stream' };
    if (this.closed) {
      const linked = linkEvents(head, events);
      return { events: linked, result: this.appendSync(streamId, linked, options) }; // refused by guard()
    }
    assertDistinctIds(streamId, events);
    const append: Append = { streamId, events, options, prevHash: head?.hash ?? GENESIS_HASH };
    const result = await new Promise<AppendResult>((resolve, reject) => this.enqueue(Object.assign(append, { resolve, reject })));
    return { events: append.events, result };
  }

  private enqueue(append: Pending): void {
    if (this.stopped) {
      append.reject(new StoreUnavailableError('the SQLite event store is closed'));
      return;
    }
    this.pending.push(append);
    if (this.writerOptions && this.pending.length >= SEND_EARLY_AT && this.sending.size < MAX_GROUPS_IN_FLIGHT) {
      this.sendGroup();
      return;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flushAppends());
    }
  }

  /** Links an append that is not linked yet here, on the calling thread (it is committed here). */
  private linkHere(p: Append): void {
    if (p.prevHash === undefined) return;
    p.events = linkAfter(p.prevHash, p.events);
    p.prevHash = undefined;
  }

  private flushAppends(): void {
    this.flushScheduled = false;
    // A lone append with nothing in flight commits here, at once: the thread's two hops would cost
    // it more than its commit blocks the event loop. Under load, groups go to the thread.
    const lone = this.pending.length === 1 && this.sending.size === 0;
    if (this.writerOptions && !lone) {
      if (this.sending.size < MAX_GROUPS_IN_FLIGHT) this.sendGroup();
      return;
    }
    const batch = eachAlone(this.pending, (p) => this.linkHere(p));
    this.pending = [];
    if (batch.length === 0) return;
    if (batch.length === 1) {
      const [p] = batch;
      try {
        p.resolve(this.appendSync(p.streamId, p.events, p.options));
      } catch (error) {
        p.reject(error);
      }
      return;
    }
    const results: ({ ok: AppendResult } | { error: unknown })[] = [];
    try {
      this.guard(() => this.groupTx(batch, results));
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    batch.forEach((p, i) => {
      const r = results[i];
      if ('ok' in r) p.resolve(r.ok);
      else p.reject(r.error);
    });
    this.committed();
  }

  /** Hands the waiting appends to the writer thread as one group commit (at most MAX_GROUPS_IN_FLIGHT at a time). */
  private sendGroup(): void {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    // Whatever fails before the group is sent fails its own appends, not the caller that happened to
    // fill the group (sendGroup runs inside its append's promise executor), and leaves none waiting.
    const wire: WireAppend[] = [];
    const sendable = eachAlone(batch, (p) => wire.push(toWire(p)));
    if (sendable.length === 0) return;
    try {
      if (!this.writer || this.writer.dead) this.writer = new SqliteWriter(this.writerOptions!);
    } catch (error) {
      const failure = new StoreUnavailableError(`SQLite writer thread could not start: ${(error as Error).message}`, error);
      for (const p of sendable) p.reject(failure);
      return;
    }
    const sent: Promise<void> = this.writer.commit(wire).then(
      (outcomes) => {
        sendable.forEach((p, i) => {
          try {
            const o = outcomes[i];
            if (p.prevHash !== undefined && (o.kind === 'written' || o.kind === 'stored')) {
              if (o.hashes?.length !== p.events.length) throw new Error(`writer thread did not link the events of ${p.streamId}`);
              p.events = withHashes(p.prevHash, p.events, o.hashes);
            }
            p.resolve(settle(p, o));
          } catch (error) {
            p.reject(error);
          }
        });
      },
      (error) => {
        for (const p of sendable) p.reject(error);
      },
    ).finally(() => {
      this.sending.delete(sent);
      this.committed();
      this.sendGroup();
    });
    this.sending.add(sent);
  }

  /** Synchronous append, for callers (benchmarks, CLI) that want no promise per call. */
  appendSync(streamId: string, events: EventData[], options: AppendOptions = {}): AppendResult {
    assertDistinctIds(streamId, events);
    const result = this.guard(() => this.appendTx(streamId, events, options));
    if (events.length > 0) this.committed();
    return result;
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const max = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    const rows = this.guard(() =>
      options.direction === 'backwards'
        ? this.stmt.backwards.all(streamId, options.fromRevision ?? Number.MAX_SAFE_INTEGER, max)
        : this.stmt.forwards.all(streamId, options.fromRevision ?? 0, max),
    );
    return rows.map(toRecorded);
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const after = options.afterPosition ?? 0;
    const max = options.maxCount ?? 1000;
    const prefixes = options.streamPrefixes;
    const rows = this.guard(() => {
      if (!prefixes?.length) return this.stmt.all.all(after, max);
      let stmt = this.byPrefixes.get(prefixes.length);
      if (!stmt) {
        stmt = this.db.prepare<unknown[], Row>(
          `SELECT * FROM events WHERE position > ? AND (${prefixFilter(prefixes.length)}) ORDER BY position ASC LIMIT ?`,
        );
        this.byPrefixes.set(prefixes.length, stmt);
      }
      return stmt.all(after, ...prefixes, max);
    });
    return rows.map(toRecorded);
  }

  async streamRevision(streamId: string): Promise<number> {
    return this.guard(() => this.stmt.revision.get(streamId)?.revision ?? -1);
  }

  async listStreams(prefix?: string): Promise<StreamInfo[]> {
    const rows = this.guard(() =>
      prefix === undefined ? this.stmt.streams.all() : this.stmt.streamsByPrefix.all(prefix),
    );
    return rows.map((r) => ({ streamId: r.stream_id, revision: r.revision }));
  }

  private readonly commitListeners = new Set<() => void>();

  /** Appends were committed through this instance: wake its subscriptions, tell the listeners. */
  private committed(): void {
    this.hub.notify();
    for (const listener of this.commitListeners) listener();
  }

  /**
   * Calls `listener` after each commit of appends through this instance (a group commit calls it
   * once), so that a reader on another connection (the projection thread) can look at once
   * rather than at its next poll. Returns the function that stops it.
   */
  onCommitted(listener: () => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  /**
   * Events may have been committed through another connection (another thread or process): the
   * subscriptions read now rather than at their next poll.
   */
  wake(): void {
    this.hub.notify();
  }

  subscribeToAll(options: SubscribeToAllOptions, handler: EventHandler): Subscription {
    this.guard(() => undefined);
    return this.hub.subscribe(options, handler);
  }

  private closing?: Promise<void>;

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (this.closed) return;
    // Appends already accepted are committed, not dropped.
    if (this.writerOptions) {
      while (this.sending.size || this.pending.length) {
        if (!this.sending.size) this.sendGroup();
        await Promise.all([...this.sending]);
      }
      this.stopped = true; // before the thread ends: a later append would start a new one
      await this.writer?.close();
    } else {
      this.flushAppends();
      this.stopped = true;
    }
    await this.hub.closeAll();
    this.closed = true;
    if (this.db.open) this.db.close();
  }

  /** Storage failures become StoreUnavailableError; domain errors (conflicts, duplicates) pass through. */
  private guard<T>(work: () => T): T {
    if (this.closed) throw new StoreUnavailableError('the SQLite event store is closed');
    try {
      return work();
    } catch (error) {
      throw storageError(error as Error & { code?: string });
    }
  }
}
