import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../common/worker-thread';
import { repeatedAppendResult } from '../append-rules';
import { AppendOptions, AppendResult, checkExpected, EventData, StoreUnavailableError } from '../event-store.port';

/**
 * The main thread's side of the SQLite store's writer thread (sqlite-writer.thread.ts).
 *
 * better-sqlite3 is synchronous: a commit on the service's own thread stops the event loop for
 * as long as the commit takes. With synchronous=FULL that is the fsync of the WAL, 1–2 ms on
 * this machine's disk and far more when a checkpoint falls due, and nothing else is served
 * meanwhile. The writer thread takes the commits: the event loop keeps parsing, deciding and
 * answering while a group commit is on its way to the disk, and the next group gathers behind
 * it. The thread holds its own connection to the file (WAL: readers on the main connection see
 * each commit once it is made).
 */

export type SqliteSynchronous = 'FULL' | 'NORMAL';

export interface WriterOptions {
  filename: string;
  synchronous: SqliteSynchronous;
  busyTimeoutMs: number;
}

/** ExpectedRevision, with `undefined` as null (message passing keeps no undefined in arrays). */
export type WireExpected = number | 'any' | 'no_stream' | 'stream_exists' | null;

/** One append as the thread gets it: data and metadata already JSON. */
export interface WireAppend {
  streamId: string;
  expected: WireExpected;
  ids: string[];
  types: string[];
  data: string[];
  metadata: string[];
  /**
   * Set when the thread links the events (appendLinked): the hash of the event before the first.
   * Their metadata has no prevHash and hash yet; the thread adds both, as linkEvents would.
   */
  prevHash?: string;
}

export type WireOutcome =
  /** `hashes`: each event's hash, when the thread linked them (WireAppend.prevHash). */
  | { kind: 'written'; next: number; position: number; hashes?: string[] }
  /** Some ids were stored already (where, by index); nothing was written. */
  | { kind: 'stored'; ids: ({ streamId: string; revision: number; position: number } | null)[]; hashes?: string[] }
  /** The expected revision did not hold; nothing was written. */
  | { kind: 'conflict'; current: number }
  | { kind: 'failed'; message: string; code?: string };

export interface WriterRequest {
  seq: number;
  appends: WireAppend[];
}

export type WriterReply = { seq: number; outcomes: WireOutcome[] } | { seq: number; failed: { message: string; code?: string } };

export interface Append {
  streamId: string;
  events: EventData[];
  options: AppendOptions;
  /** The events are not linked yet: the hash they follow (see WireAppend.prevHash). */
  prevHash?: string;
}

export function toWire(a: Append): WireAppend {
  const wire: WireAppend = {
    streamId: a.streamId,
    expected: a.options.expectedRevision ?? null,
    ids: a.events.map((e) => e.id),
    types: a.events.map((e) => e.type),
    data: a.events.map((e) => JSON.stringify(e.data ?? null)),
    metadata: a.events.map((e) => JSON.stringify(e.metadata ?? {})),
  };
  if (a.prevHash !== undefined) wire.prevHash = a.prevHash;
  return wire;
}

/** SQLite result codes that mean "the storage failed or is busy", not "the request was wrong". */
export const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|PROTOCOL|NOMEM|NOLFS|AUTH)/;

/** What an SQLite error means to a caller: StoreUnavailableError for the storage, the error itself otherwise. */
export function storageError(error: { message: string; code?: string }): Error {
  if (typeof error.code === 'string' && UNAVAILABLE.test(error.code)) {
    return new StoreUnavailableError(`SQLite event store: ${error.message}`, error);
  }
  return error instanceof Error ? error : Object.assign(new Error(error.message), { code: error.code });
}

/** The result of one append, or the error every adapter gives for it. */
export function settle(append: Append, outcome: WireOutcome): AppendResult {
  switch (outcome.kind) {
    case 'written':
      return { nextExpectedRevision: outcome.next, position: outcome.position };
    case 'stored': {
      const where = new Map(append.events.map((e, i) => [e.id, outcome.ids[i] ?? undefined]));
      // Ids were found, so this is a retry (its first result) or it throws.
      return repeatedAppendResult(append.streamId, append.events, (id) => where.get(id))!;
    }
    case 'conflict':
      checkExpected(append.streamId, append.options.expectedRevision, outcome.current);
      throw new Error(`writer thread reported a conflict the expected revision does not show (${append.streamId})`);
    case 'failed':
      throw storageError(outcome);
  }
}

/** Loads the thread (dist/, or compiled from the TypeScript sources under jest: startWorker). */
function startThread(options: WriterOptions): Worker {
  return startWorker(join(__dirname, 'sqlite-writer.thread'), { workerData: options, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
}

/** Sends group commits to the writer thread, one at a time, and answers each with the thread's outcomes. */
export class SqliteWriter {
  private readonly worker: Worker;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (o: WireOutcome[]) => void; reject: (e: unknown) => void }>();
  private failure?: Error;
  private readonly exited: Promise<void>;

  constructor(options: WriterOptions) {
    this.worker = startThread(options);
    this.worker.unref(); // an idle writer does not keep the process alive; one with a commit in flight does (commit())
    this.worker.on('message', (reply: WriterReply) => {
      const waiter = this.waiting.get(reply.seq);
      if (!waiter) return;
      this.waiting.delete(reply.seq);
      if (this.waiting.size === 0) this.worker.unref();
      if ('failed' in reply) waiter.reject(storageError(reply.failed));
      else waiter.resolve(reply.outcomes);
    });
    this.worker.on('error', (error) => this.fail(new StoreUnavailableError(`SQLite writer thread failed: ${error.message}`, error)));
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', (code) => {
        this.fail(new StoreUnavailableError(`SQLite writer thread exited (code ${code})`));
        resolve();
      }),
    );
  }

  /** The thread has failed or ended: commit() refuses, and the store starts a new writer. */
  get dead(): boolean {
    return this.failure !== undefined;
  }

  /** Commits the appends as one group; each outcome is for the append at its index. */
  commit(appends: WireAppend[]): Promise<WireOutcome[]> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ seq, appends } satisfies WriterRequest);
    });
  }

  /** Closes the thread's connection and ends the thread (after the commits already sent). */
  async close(): Promise<void> {
    if (!this.failure) this.worker.postMessage('close');
    this.worker.ref();
    await this.exited;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const w of this.waiting.values()) w.reject(error);
    this.waiting.clear();
  }
}
