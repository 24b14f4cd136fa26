/**
 * The SQLite event store's writer thread (see sqlite-writer.ts). It owns the connection that
 * writes: each request is one group commit, every append in its own savepoint, and the commit
 * (with synchronous=FULL, the fsync of the WAL; now and then a checkpoint) blocks this thread,
 * not the service's event loop.
 *
 * It decides nothing the store's rules decide: for an append whose ids are already stored, or
 * whose expected revision does not hold, it writes nothing and reports what it found; the main
 * thread turns that into the same result or error every adapter gives (append-rules.ts,
 * checkExpected). Where the main thread asks (WireAppend.prevHash), it also links the events of
 * an append into their stream's hash chain: the hashing (canonical JSON and SHA-256 of every
 * event) then costs the service's event loop nothing. Of Docket it imports only the linking
 * (chained-append.ts, pure functions over node:crypto), so it can be loaded on its own (from
 * dist/, or compiled from the TypeScript sources).
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { linkAfter } from '../chained-append';
import type { WireAppend, WireExpected, WireOutcome, WriterOptions, WriterReply, WriterRequest } from './sqlite-writer';

const options = workerData as WriterOptions;
const db = new Database(options.filename);
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${options.synchronous}`);
db.pragma(`busy_timeout = ${options.busyTimeoutMs}`);

const revisionOf = db.prepare<[string], number>('SELECT revision FROM streams WHERE stream_id = ?').pluck();
const storedId = db.prepare<[string], { streamId: string; revision: number; position: number }>(
  'SELECT stream_id AS streamId, revision, position FROM events WHERE id = ?',
);
const insert = db.prepare('INSERT INTO events (stream_id, revision, id, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
const insertStream = db.prepare('INSERT INTO streams (stream_id, revision, created_at) VALUES (?, ?, ?)');
const updateStream = db.prepare('UPDATE streams SET revision = ? WHERE stream_id = ?');

/** The expected revision holds (the same test as checkExpected, which the main thread runs to name a mismatch). */
function holds(expected: WireExpected, current: number): boolean {
  if (expected === null || expected === 'any') return true;
  if (expected === 'no_stream') return current === -1;
  if (expected === 'stream_exists') return current >= 0;
  return current === expected;
}

function appendOne(a: WireAppend, now: string): WireOutcome {
  let stored: WireOutcome & { kind: 'stored' } | undefined;
  a.ids.forEach((id, i) => {
    const hit = storedId.get(id);
    if (!hit) return;
    stored ??= { kind: 'stored', ids: a.ids.map(() => null) };
    stored.ids[i] = hit;
  });
  if (stored) return stored;
  const current = revisionOf.get(a.streamId) ?? -1;
  if (!holds(a.expected, current)) return { kind: 'conflict', current };
  if (a.ids.length === 0) return { kind: 'written', next: current, position: 0 };
  let revision = current;
  let position = 0;
  for (let i = 0; i < a.ids.length; i++) {
    revision += 1;
    position = Number(insert.run(a.streamId, revision, a.ids[i], a.types[i], a.data[i], a.metadata[i], now).lastInsertRowid);
  }
  if (current === -1) insertStream.run(a.streamId, revision, position);
  else updateStream.run(revision, a.streamId);
  return { kind: 'written', next: revision, position };
}

/**
 * Links an append's events with linkEvents' own code (linkAfter), rewriting their metadata JSON
 * in place; their hashes, in order. An append the main thread linked itself gets undefined.
 */
function link(a: WireAppend): string[] | undefined {
  if (a.prevHash === undefined) return undefined;
  const events = a.ids.map((id, i) => ({ id, type: a.types[i], data: JSON.parse(a.data[i]), metadata: JSON.parse(a.metadata[i]) }));
  return linkAfter(a.prevHash, events).map((e, i) => {
    a.metadata[i] = JSON.stringify(e.metadata);
    return e.metadata!.hash as string;
  });
}

const failure = (error: unknown) => ({ message: (error as Error)?.message ?? String(error), code: (error as { code?: string })?.code });

/** One append in a savepoint of the group: a failing one rolls back alone. */
const inSavepoint = db.transaction(appendOne);
const groupCommit = db.transaction((appends: WireAppend[]): WireOutcome[] => {
  const now = new Date().toISOString();
  return appends.map((a) => {
    try {
      return inSavepoint(a, now);
    } catch (error) {
      return { kind: 'failed', ...failure(error) };
    }
  });
}).immediate;

parentPort!.on('message', (request: WriterRequest | 'close') => {
  if (request === 'close') {
    db.close();
    parentPort!.close();
    return;
  }
  let reply: WriterReply;
  try {
    // Hashed before the transaction, which holds the file's write lock.
    const hashes = request.appends.map(link);
    const outcomes = groupCommit(request.appends);
    outcomes.forEach((o, i) => {
      if (hashes[i] && (o.kind === 'written' || o.kind === 'stored')) o.hashes = hashes[i];
    });
    reply = { seq: request.seq, outcomes };
  } catch (error) {
    reply = { seq: request.seq, failed: failure(error) };
  }
  parentPort!.postMessage(reply);
});
