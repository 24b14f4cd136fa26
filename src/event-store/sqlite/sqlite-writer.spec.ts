import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { ConcurrencyError, DuplicateEventError, EventData, StoreUnavailableError } from '../event-store.port';
import { appendChained, ChainHead, linkEvents, UnchainedEvent } from '../chained-append';
import { verifyChain } from '../../audit/domain/hash-chain';
import { SqliteEventStore } from './sqlite-event-store';
import { SqliteWriter } from './sqlite-writer';

const dir = mkdtempSync(join(tmpdir(), 'docket-sqlite-writer-'));
let n = 0;
const file = () => join(dir, `store-${++n}.db`);
const ev = (id: string): EventData => ({ id, type: 'Happened', data: { id }, metadata: {} });
/** The writer thread of a store (private: these tests are about the thread itself). */
const threadOf = (store: SqliteEventStore) => (store as unknown as { writer?: { worker: { threadId: number; terminate(): Promise<number> } } }).writer;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Two appends in one turn: one group commit, which goes to the writer thread. */
const together = (store: SqliteEventStore) =>
  Promise.all([store.appendToStream(`t-${++n}`, [ev(`t-0`)]), store.appendToStream(`t-${++n}`, [ev(`t-1`)])]);

describe('SQLite store writer thread', () => {
  it('commits a lone append on the caller’s thread, and appends that come together on a thread of its own', async () => {
    const store = new SqliteEventStore({ filename: file(), writerThread: true });
    await store.appendToStream('a', [ev('a-0')]);
    expect(threadOf(store)).toBeUndefined();
    await together(store);
    expect(isMainThread).toBe(true);
    expect(threadOf(store)?.worker.threadId).toBeGreaterThan(0);
    expect((await store.readAll()).map((e) => e.id)).toEqual(['a-0', 't-0', 't-1']);
    await store.close();
  });

  it('sends a group to the thread once 16 appends wait, without waiting for the turn to end, and commits in arrival order', async () => {
    const store = new SqliteEventStore({ filename: file(), writerThread: true });
    const commit = jest.spyOn(SqliteWriter.prototype, 'commit');
    try {
      // 40 appends in one turn: the first 16 go at once, the next 16 fill the second slot, the rest follow a returned group.
      const ids = Array.from({ length: 40 }, (_, i) => `early-${i}`);
      const sizes: number[] = [];
      const appends = ids.map((id, i) => {
        const done = store.appendToStream(`early-${i % 5}`, [ev(id)]);
        if (i === 15 || i === 31) sizes.push(commit.mock.calls.length);
        return done;
      });
      expect(sizes).toEqual([1, 2]); // sent within the turn, as the 16th and the 32nd append arrived
      await Promise.all(appends);
      expect(commit.mock.calls.map(([batch]) => batch.length)).toEqual([16, 16, 8]);
      expect((await store.readAll({ maxCount: 100 })).map((e) => e.id)).toEqual(ids);
    } finally {
      commit.mockRestore();
      await store.close();
    }
  });

  it('commits everything on the caller’s thread by default, and for :memory:', async () => {
    for (const store of [new SqliteEventStore({ filename: file() }), new SqliteEventStore({ filename: ':memory:', writerThread: true })]) {
      await together(store);
      expect(threadOf(store)).toBeUndefined();
      expect(await store.readAll()).toHaveLength(2);
      await store.close();
    }
  });

  it('answers each append of one group commit on its own: a conflict and a duplicate id fail alone, the rest land', async () => {
    const store = new SqliteEventStore({ filename: file(), synchronous: 'NORMAL', writerThread: true });
    await store.appendToStream('a', [ev('a-0')]);
    const results = await Promise.allSettled([
      store.appendToStream('a', [ev('a-1')], { expectedRevision: 0 }),
      store.appendToStream('a', [ev('a-x')], { expectedRevision: 0 }), // same turn, same group: now behind
      store.appendToStream('b', [ev('a-0')]), // id stored in stream a
      store.appendToStream('a', [ev('a-0')]), // a retry of the first append: its first result
      store.appendToStream('c', [ev('c-0'), ev('c-1')], { expectedRevision: 'no_stream' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyError);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(DuplicateEventError);
    expect((results[3] as PromiseFulfilledResult<unknown>).value).toEqual({ nextExpectedRevision: 0, position: 1, repeated: true });
    expect((await store.readAll()).map((e) => e.id)).toEqual(['a-0', 'a-1', 'c-0', 'c-1']);
    await store.close();
  });

  it('fails the appends in flight with StoreUnavailableError when the thread dies, and starts a new one for the next', async () => {
    const filename = file();
    const store = new SqliteEventStore({ filename, synchronous: 'NORMAL', writerThread: true });
    await together(store);
    await store.appendToStream('s', [ev('s-0')]);
    const first = threadOf(store)!;
    // Another connection holds the write lock, so the thread cannot answer before it is ended: its
    // commit waits for the lock in SQLite, and once the lock goes the thread is already terminating.
    const holder = new Database(filename);
    holder.exec('BEGIN IMMEDIATE');
    const inFlight = store.appendToStream('s', [ev('s-1')], { expectedRevision: 0 });
    const alongside = store.appendToStream('other', [ev('o-0')]); // two: a group, sent to the thread
    await new Promise((r) => setTimeout(r, 50)); // the group is with the thread, waiting for the lock
    const ended = first.worker.terminate();
    holder.exec('ROLLBACK');
    holder.close();
    await ended;
    await expect(inFlight).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(alongside).rejects.toBeInstanceOf(StoreUnavailableError);
    const revision = await store.streamRevision('s'); // s-1 may or may not have committed before the thread ended
    const [next] = await Promise.all([store.appendToStream('s', [ev('s-2')], { expectedRevision: revision }), store.appendToStream('other-2', [ev('o-2')])]);
    expect(next).toMatchObject({ nextExpectedRevision: revision + 1 });
    expect(threadOf(store)).not.toBe(first);
    await store.close();
  });

  it('commits the appends accepted before close(), then ends the thread', async () => {
    const filename = file();
    const store = new SqliteEventStore({ filename, synchronous: 'NORMAL', writerThread: true });
    const appends = Array.from({ length: 50 }, (_, i) => store.appendToStream(`s-${i % 5}`, [ev(`e-${i}`)]));
    await store.close();
    await Promise.all(appends);
    const reopened = new SqliteEventStore({ filename, writerThread: false });
    expect(await reopened.readAll()).toHaveLength(50);
    await reopened.close();
  });

  it('refuses appends that come after close() has committed the ones it was given, and starts no thread for them', async () => {
    const filename = file();
    const store = new SqliteEventStore({ filename, synchronous: 'NORMAL', writerThread: true });
    const closing = store.close();
    const late = [store.appendToStream('late-1', [ev('late-1')]), store.appendToStream('late-2', [ev('late-2')])];
    await expect(Promise.all(late)).rejects.toBeInstanceOf(StoreUnavailableError);
    await closing;
    expect(threadOf(store)).toBeUndefined();
    const reopened = new SqliteEventStore({ filename });
    expect(await reopened.readAll()).toEqual([]);
    await reopened.close();
  });

  it('refuses an append whose data is not JSON on its own: the rest of its group is committed, and no caller is left waiting', async () => {
    const store = new SqliteEventStore({ filename: file(), synchronous: 'NORMAL', writerThread: true });
    try {
      // 16 appends in one turn: the group goes to the thread as the 16th arrives, from inside its call.
      const appends = Array.from({ length: 16 }, (_, i) =>
        store.appendToStream(`bad-${i}`, [{ id: `bad-${i}`, type: 'Happened', data: i === 2 ? { n: BigInt(1) } : { i }, metadata: {} }]),
      );
      const settled = await Promise.allSettled(appends);
      expect(settled.map((r) => r.status)).toEqual(settled.map((_, i) => (i === 2 ? 'rejected' : 'fulfilled')));
      expect(await store.readAll({ maxCount: 100 })).toHaveLength(15);
    } finally {
      await store.close();
    }
  });

  it('on the calling thread too, an append whose data cannot be hashed fails alone', async () => {
    const store = new SqliteEventStore({ filename: file(), synchronous: 'NORMAL' });
    try {
      const good = appendChained(store, 'fine', null, [{ type: 'Happened', data: { ok: true } }]);
      const bad = appendChained(store, 'unhashable', null, [{ type: 'Happened', data: { n: BigInt(1) } }]);
      await expect(bad).rejects.toThrow(/BigInt/);
      await expect(good).resolves.toMatchObject({ events: [{ revision: 0 }] });
    } finally {
      await store.close();
    }
  });

  describe('hash chain', () => {
    const unlinked = (id: string, title: string): UnchainedEvent => ({
      id,
      type: 'DeliverableSubmitted',
      data: { unit: 'unit-1', title, version: 2, nested: { b: [1, 'x', null], a: true } },
      metadata: { actor: { sub: 'u', role: 'unit' }, occurredAt: '2026-11-22T08:00:00.000Z', correlationId: `c-${id}` },
    });

    it('links the events of a group commit on the writer thread exactly as linkEvents does, and stores what it returns', async () => {
      const filename = file();
      const store = new SqliteEventStore({ filename, synchronous: 'NORMAL', writerThread: true });
      const first = await appendChained(store, 'x', null, [unlinked('x-0', '问题清单')]); // lone: linked on this thread
      expect(threadOf(store)).toBeUndefined();
      const head: ChainHead = { revision: 0, hash: first.events[0].metadata.hash };
      const batch = [unlinked('x-1', '整改方案'), unlinked('x-2', 'second')];
      const [x, y] = await Promise.all([appendChained(store, 'x', head, batch), appendChained(store, 'y', null, [unlinked('y-0', 'y')])]);
      expect(threadOf(store)).toBeDefined(); // the group went to the thread, which linked it
      expect(x.events.map(({ revision, ...e }) => e)).toEqual(linkEvents(head, batch));
      expect(x.events.map((e) => e.revision)).toEqual([1, 2]);
      expect(y.events.map(({ revision, ...e }) => e)).toEqual(linkEvents(null, [unlinked('y-0', 'y')]));
      await store.close();

      const reopened = new SqliteEventStore({ filename });
      const stored = await reopened.readStream('x');
      expect(stored.map((e) => e.metadata)).toEqual([...first.events, ...x.events].map((e) => e.metadata));
      expect(verifyChain(stored)).toMatchObject({ ok: true, events: 3, headHash: x.events[1].metadata.hash });
      await reopened.close();
    });

    it('writes nothing for a linked append whose head is behind, and answers a retry of the same ids with its first result', async () => {
      const store = new SqliteEventStore({ filename: file(), synchronous: 'NORMAL', writerThread: true });
      const head: ChainHead = { revision: 0, hash: (await appendChained(store, 'z', null, [unlinked('z-0', 'a')])).events[0].metadata.hash };
      const results = await Promise.allSettled([
        appendChained(store, 'z', head, [unlinked('z-1', 'b')]),
        appendChained(store, 'z', head, [unlinked('z-x', 'c')]), // same head, same group: now behind
        appendChained(store, 'z', head, [unlinked('z-1', 'b')]), // a retry of the first
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyError);
      const [written, , retried] = results as PromiseFulfilledResult<Awaited<ReturnType<typeof appendChained>>>[];
      expect(retried.value.events).toEqual(written.value.events);
      expect(verifyChain(await store.readStream('z'))).toMatchObject({ ok: true, events: 2 });
      await store.close();
    });
  });

  it('an idle writer thread does not keep a process alive that forgot to close its store', () => {
    const dist = resolve(__dirname, '../../../dist/event-store/sqlite/sqlite-event-store.js');
    const script = `
      const { SqliteEventStore } = require(${JSON.stringify(dist)});
      const store = new SqliteEventStore({ filename: ${JSON.stringify(file())}, synchronous: 'NORMAL', writerThread: true });
      Promise.all(['s', 't'].map((s) => store.appendToStream(s, [{ id: s, type: 'T', data: {}, metadata: {} }])))
        .then((r) => console.log(JSON.stringify(r)));`;
    const out = execFileSync(process.execPath, ['-e', script], { timeout: 20_000, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual([{ nextExpectedRevision: 0, position: 1 }, { nextExpectedRevision: 0, position: 2 }]);
  });
});
