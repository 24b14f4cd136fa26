import { randomUUID } from 'node:crypto';
import {
  AppendResult,
  ConcurrencyError,
  DuplicateEventError,
  EventData,
  EventStore,
  ExpectedRevision,
  RecordedEvent,
  StoreUnavailableError,
  Subscription,
} from '../../src/event-store/event-store.port';
import { appendChained, ChainHead, UnchainedEvent } from '../../src/event-store/chained-append';
import { verifyChain } from '../../src/audit/domain/hash-chain';

/** What differs between adapters. The tests themselves are shared and never forked. */
export interface EventStoreHarness {
  /** A fresh, empty store. */
  create(): Promise<EventStore>;
  /** Close the store and open the same storage again (a restart). */
  reopen?(store: EventStore): Promise<EventStore>;
  /** A second, independent handle on the same storage (another process or connection pool). */
  openAnother?(store: EventStore): Promise<EventStore>;
  /**
   * Promises of the port this store cannot keep, each with the reason. The tests that need one are
   * skipped and their names carry the reason. Every other store leaves this out.
   */
  limitations?: {
    /** The store cannot refuse an event id that is already used in another stream. */
    eventIdsUniqueAcrossStreams?: string;
  };
}

const ev = (type = 'Something', data: unknown = { n: 1 }, metadata?: Record<string, unknown>): EventData => ({
  id: randomUUID(),
  type,
  data,
  metadata,
});
const evs = (count: number, type = 'Something') => Array.from({ length: count }, (_, n) => ev(type, { n }));
const range = (count: number) => Array.from({ length: count }, (_, n) => n);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function failure(promise: Promise<unknown>): Promise<any> {
  return promise.then(
    () => {
      throw new Error('expected a failure, but it succeeded');
    },
    (error) => error,
  );
}

async function expectConflict(
  promise: Promise<unknown>,
  streamId: string,
  expected: ExpectedRevision,
  actual: number,
): Promise<void> {
  const error = await failure(promise);
  expect(error).toBeInstanceOf(ConcurrencyError);
  expect(error).toMatchObject({ code: 'CONCURRENCY_CONFLICT', streamId, expected, actual });
}

async function eventually(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** readAll is paged; this reads the whole log. */
async function readEverything(store: EventStore): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for (;;) {
    const page = await store.readAll({ afterPosition: out.at(-1)?.position ?? 0, maxCount: 1000 });
    if (page.length === 0) return out;
    out.push(...page);
  }
}

export function describeEventStoreConformance(name: string, harness: EventStoreHarness): void {
  describe(`${name} event store`, () => {
    const opened: EventStore[] = [];
    const track = <S extends EventStore>(store: S) => (opened.push(store), store);
    const fresh = async () => track(await harness.create());
    const another = async (store: EventStore) => track(await harness.openAnother!(store));
    const withReopen = harness.reopen ? it : it.skip;
    const withAnother = harness.openAnother ? it : it.skip;
    const acrossStreams = harness.limitations?.eventIdsUniqueAcrossStreams;
    const withIdsAcrossStreams = acrossStreams ? it.skip : it;

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    describe('appending with an expected revision', () => {
      it('starts revisions at 0 and gives increasing global positions in commit order', async () => {
        const store = await fresh();
        const a = await store.appendToStream('a', evs(2));
        const b = await store.appendToStream('b', evs(1));
        const c = await store.appendToStream('a', evs(1));
        expect(a.nextExpectedRevision).toBe(1);
        expect(b.nextExpectedRevision).toBe(0);
        expect(c.nextExpectedRevision).toBe(2);
        const all = await store.readAll();
        expect(all.map((e) => [e.streamId, e.revision])).toEqual([
          ['a', 0],
          ['a', 1],
          ['b', 0],
          ['a', 2],
        ]);
        expect(all[0].position).toBeGreaterThanOrEqual(1);
        for (let n = 1; n < all.length; n++) expect(all[n].position).toBeGreaterThan(all[n - 1].position);
        expect([a.position, b.position, c.position]).toEqual([all[1].position, all[2].position, all[3].position]);
      });

      it('no_stream creates a stream that does not exist', async () => {
        const store = await fresh();
        const result = await store.appendToStream('s', evs(1), { expectedRevision: 'no_stream' });
        expect(result.nextExpectedRevision).toBe(0);
      });

      it('no_stream refuses when the stream exists, naming its actual revision', async () => {
        const store = await fresh();
        await store.appendToStream('s', evs(2));
        await expectConflict(store.appendToStream('s', evs(1), { expectedRevision: 'no_stream' }), 's', 'no_stream', 1);
      });

      it('stream_exists appends to an existing stream', async () => {
        const store = await fresh();
        await store.appendToStream('s', evs(1));
        expect((await store.appendToStream('s', evs(1), { expectedRevision: 'stream_exists' })).nextExpectedRevision).toBe(1);
      });

      it('stream_exists refuses when the stream does not exist (actual -1)', async () => {
        const store = await fresh();
        await expectConflict(
          store.appendToStream('s', evs(1), { expectedRevision: 'stream_exists' }),
          's',
          'stream_exists',
          -1,
        );
      });

      it('any appends whether or not the stream exists, and is the default', async () => {
        const store = await fresh();
        await store.appendToStream('s', evs(1), { expectedRevision: 'any' });
        await store.appendToStream('s', evs(1), { expectedRevision: 'any' });
        const last = await store.appendToStream('s', evs(1));
        expect(last.nextExpectedRevision).toBe(2);
      });

      it('an exact revision appends when it is the current one', async () => {
        const store = await fresh();
        await store.appendToStream('s', evs(3));
        expect((await store.appendToStream('s', evs(2), { expectedRevision: 2 })).nextExpectedRevision).toBe(4);
      });

      it('an exact revision refuses a stale or future revision, carrying streamId, expected and actual', async () => {
        const store = await fresh();
        await store.appendToStream('s', evs(3));
        await expectConflict(store.appendToStream('s', evs(1), { expectedRevision: 1 }), 's', 1, 2);
        await expectConflict(store.appendToStream('s', evs(1), { expectedRevision: 5 }), 's', 5, 2);
        await expectConflict(store.appendToStream('missing', evs(1), { expectedRevision: 0 }), 'missing', 0, -1);
      });

      it('an exact revision of -1 means the stream must not exist yet', async () => {
        const store = await fresh();
        await store.appendToStream('s', evs(1), { expectedRevision: -1 });
        await expectConflict(store.appendToStream('s', evs(1), { expectedRevision: -1 }), 's', -1, 0);
      });

      it('a refused append writes nothing', async () => {
        const store = await fresh();
        await store.appendToStream('s', evs(2));
        await failure(store.appendToStream('s', evs(3), { expectedRevision: 0 }));
        expect(await store.readStream('s')).toHaveLength(2);
        expect(await store.readAll()).toHaveLength(2);
        expect(await store.streamRevision('s')).toBe(1);
      });

      it('an empty batch writes nothing but still checks the expected revision', async () => {
        const store = await fresh();
        await store.appendToStream('s', evs(2));
        expect((await store.appendToStream('s', [], { expectedRevision: 1 })).nextExpectedRevision).toBe(1);
        await expectConflict(store.appendToStream('s', [], { expectedRevision: 0 }), 's', 0, 1);
        expect(await store.readAll()).toHaveLength(2);
      });
    });

    describe('idempotent append by event id', () => {
      it('appending the same batch again is a no-op that returns the original result, marked repeated', async () => {
        const store = await fresh();
        const batch = evs(3);
        const first = await store.appendToStream('s', batch, { expectedRevision: 'no_stream' });
        expect(first.repeated).toBeUndefined();
        const again = await store.appendToStream('s', batch, { expectedRevision: 'no_stream' });
        expect(again).toEqual<AppendResult>({ ...first, repeated: true });
        expect(await store.readAll()).toHaveLength(3);
      });

      it('a retried batch answers as the first append even after the stream moved on', async () => {
        const store = await fresh();
        const batch = evs(2);
        const first = await store.appendToStream('s', batch, { expectedRevision: 'no_stream' });
        await store.appendToStream('s', evs(2), { expectedRevision: 1 });
        expect(await store.appendToStream('s', batch, { expectedRevision: 'no_stream' })).toEqual<AppendResult>({ ...first, repeated: true });
        expect(await store.streamRevision('s')).toBe(3);
      });

      withReopen('a retried batch is still a no-op after the store restarts', async () => {
        const store = await fresh();
        const batch = evs(2);
        const first = await store.appendToStream('s', batch, { expectedRevision: 'no_stream' });
        const reopened = track(await harness.reopen!(store));
        expect(await reopened.appendToStream('s', batch, { expectedRevision: 'no_stream' })).toEqual<AppendResult>({ ...first, repeated: true });
        expect(await readEverything(reopened)).toHaveLength(2);
      });

      withIdsAcrossStreams(`an event id already used in another stream is refused with DuplicateEventError${acrossStreams ? ` (not promised: ${acrossStreams})` : ''}`, async () => {
        const store = await fresh();
        const e = ev();
        await store.appendToStream('first', [e]);
        const error = await failure(store.appendToStream('second', [ev(), e]));
        expect(error).toBeInstanceOf(DuplicateEventError);
        expect(error).toMatchObject({ code: 'DUPLICATE_EVENT_ID', eventId: e.id, streamId: 'second', existingStreamId: 'first' });
        expect(await store.streamRevision('second')).toBe(-1);
      });

      it('a hash-chained append of ids another writer stored first answers with the stored events, so the next append links to the chain the log holds', async () => {
        const store = await fresh();
        // Two instances decide the same reminder (the same deterministic id) at the same moment; each stamps its own metadata.
        const decided = (correlationId: string): UnchainedEvent[] => [
          { id: 'reminder-1', type: 'ReminderIssued', data: { unit: 'u-1' }, metadata: { occurredAt: '2026-11-22T08:00:00.000Z', correlationId } },
        ];
        const head = await appendChained(store, 'reminders-c', null, [{ type: 'Opened', data: {}, metadata: {} }]);
        const start: ChainHead = { revision: 0, hash: head.events[0].metadata.hash };
        const firstWriter = await appendChained(store, 'reminders-c', start, decided('first'));
        const secondWriter = await appendChained(store, 'reminders-c', start, decided('second')); // its head is behind, its ids stored
        expect(secondWriter.events).toEqual(firstWriter.events);
        expect(secondWriter.events[0].metadata.correlationId).toBe('first');
        const last = secondWriter.events[0];
        await appendChained(store, 'reminders-c', { revision: last.revision, hash: last.metadata.hash }, [{ type: 'Next', data: {}, metadata: {} }]);
        expect(verifyChain(await store.readStream('reminders-c'))).toMatchObject({ ok: true, events: 3 });
      });

      it('a batch that repeats only part of an earlier append is refused', async () => {
        const store = await fresh();
        const [a, b] = evs(2);
        await store.appendToStream('s', [a, b]);
        expect(await failure(store.appendToStream('s', [b, ev()]))).toBeInstanceOf(DuplicateEventError);
        expect(await store.readAll()).toHaveLength(2);
      });

      it('a batch that names the same event id twice is refused', async () => {
        const store = await fresh();
        const e = ev();
        expect(await failure(store.appendToStream('s', [e, { ...e }]))).toBeInstanceOf(DuplicateEventError);
        expect(await store.readAll()).toHaveLength(0);
      });
    });

    describe('reading a stream', () => {
      async function tenEvents() {
        const store = await fresh();
        for (const n of range(10)) {
          await store.appendToStream('s', [ev('Counted', { n })]);
          await store.appendToStream('other', [ev()]);
        }
        return store;
      }
      const revisions = (events: RecordedEvent[]) => events.map((e) => e.revision);

      it('reads forwards from the start by default, only that stream', async () => {
        const store = await tenEvents();
        const events = await store.readStream('s');
        expect(revisions(events)).toEqual(range(10));
        expect(events.every((e) => e.streamId === 's')).toBe(true);
        expect(events.map((e) => e.data.n)).toEqual(range(10));
      });

      it('reads forwards from a revision, inclusive, with maxCount', async () => {
        const store = await tenEvents();
        expect(revisions(await store.readStream('s', { fromRevision: 3, maxCount: 4 }))).toEqual([3, 4, 5, 6]);
        expect(revisions(await store.readStream('s', { fromRevision: 8 }))).toEqual([8, 9]);
        expect(await store.readStream('s', { fromRevision: 10 })).toEqual([]);
      });

      it('reads backwards from the end by default', async () => {
        const store = await tenEvents();
        expect(revisions(await store.readStream('s', { direction: 'backwards' }))).toEqual(range(10).reverse());
        expect(revisions(await store.readStream('s', { direction: 'backwards', maxCount: 1 }))).toEqual([9]);
      });

      it('reads backwards from a revision, inclusive, with maxCount', async () => {
        const store = await tenEvents();
        expect(revisions(await store.readStream('s', { direction: 'backwards', fromRevision: 5, maxCount: 3 }))).toEqual([
          5, 4, 3,
        ]);
        expect(revisions(await store.readStream('s', { direction: 'backwards', fromRevision: 1 }))).toEqual([1, 0]);
      });

      it('reads an empty list for a stream that does not exist', async () => {
        const store = await fresh();
        expect(await store.readStream('nope')).toEqual([]);
        expect(await store.readStream('nope', { direction: 'backwards' })).toEqual([]);
      });
    });

    describe('reading all streams', () => {
      it('reads in global commit order after an exclusive position, with maxCount', async () => {
        const store = await fresh();
        for (const n of range(12)) await store.appendToStream(`s-${n % 3}`, [ev('N', { n })]);
        const all = await store.readAll();
        expect(all.map((e) => e.data.n)).toEqual(range(12));
        const page = await store.readAll({ afterPosition: all[3].position, maxCount: 5 });
        expect(page.map((e) => e.data.n)).toEqual([4, 5, 6, 7, 8]);
        expect(await store.readAll({ afterPosition: all[11].position })).toEqual([]);
      });

      it('filters by stream prefixes, maxCount counting only matching events', async () => {
        const store = await fresh();
        for (const n of range(30)) {
          const stream = ['order-1', 'user-1', 'orders-2', 'invoice-7', 'user-2'][n % 5];
          await store.appendToStream(stream, [ev('N', { n })]);
        }
        const prefixes = ['order-', 'invoice-'];
        const first = await store.readAll({ streamPrefixes: prefixes, maxCount: 3 });
        expect(first.map((e) => e.data.n)).toEqual([0, 3, 5]);
        const rest = await store.readAll({ streamPrefixes: prefixes, afterPosition: first[2].position });
        expect(rest.map((e) => e.streamId).every((s) => s === 'order-1' || s === 'invoice-7')).toBe(true);
        expect(first.length + rest.length).toBe(12);
      });

      it('treats prefix characters literally (no wildcards)', async () => {
        const store = await fresh();
        await store.appendToStream('a_b%-1', evs(1));
        await store.appendToStream('axbz-1', evs(1));
        await store.appendToStream('A_B%-1', evs(1));
        expect((await store.readAll({ streamPrefixes: ['a_b%'] })).map((e) => e.streamId)).toEqual(['a_b%-1']);
        expect((await store.listStreams('a_b%')).map((s) => s.streamId)).toEqual(['a_b%-1']);
      });
    });

    describe('stream catalogue', () => {
      it('streamRevision is -1 for a missing stream and the last revision otherwise', async () => {
        const store = await fresh();
        expect(await store.streamRevision('s')).toBe(-1);
        await store.appendToStream('s', evs(3));
        expect(await store.streamRevision('s')).toBe(2);
      });

      it('listStreams lists streams with revisions in creation order, optionally by prefix', async () => {
        const store = await fresh();
        await store.appendToStream('campaign-b', evs(2));
        await store.appendToStream('user-1', evs(1));
        await store.appendToStream('campaign-a', evs(1));
        await store.appendToStream('campaign-b', evs(1));
        expect(await store.listStreams()).toEqual([
          { streamId: 'campaign-b', revision: 2 },
          { streamId: 'user-1', revision: 0 },
          { streamId: 'campaign-a', revision: 0 },
        ]);
        expect((await store.listStreams('campaign-')).map((s) => s.streamId)).toEqual(['campaign-b', 'campaign-a']);
        expect(await store.listStreams('nothing-')).toEqual([]);
      });
    });

    describe('payloads', () => {
      it('round-trips a 1 MB payload', async () => {
        const store = await fresh();
        const blob = 'x'.repeat(1024 * 1024);
        await store.appendToStream('big', [ev('Big', { blob, tail: '尾' })]);
        const [read] = await store.readStream('big');
        expect(read.data.blob.length).toBe(blob.length);
        expect(read.data.blob === blob).toBe(true);
        expect(read.data.tail).toBe('尾');
        expect((await store.readAll())[0].data.blob === blob).toBe(true);
      });

      it('round-trips Chinese text in stream ids, types, data and metadata', async () => {
        const store = await fresh();
        const data = {
          标题: '关于开展二〇二五年度公共服务满意度调查的通知',
          正文: '各区县人民政府、市政府各部门：现将有关事项通知如下。'.repeat(200),
          罕见字: '𠀀𪚥𰻞', // outside the BMP
          符号: '「」《》——…🎉',
        };
        await store.appendToStream('案件-北京-001', [ev('申请已提交', data, { 经办人: '张三' })]);
        const [read] = await store.readStream('案件-北京-001');
        expect(read).toMatchObject({ streamId: '案件-北京-001', type: '申请已提交', data, metadata: { 经办人: '张三' } });
        expect((await store.listStreams('案件-')).map((s) => s.streamId)).toEqual(['案件-北京-001']);
        expect((await store.readAll({ streamPrefixes: ['案件-北京'] }))[0].data).toEqual(data);
      });

      it('round-trips metadata, and reads missing metadata as an empty object', async () => {
        const store = await fresh();
        const metadata = { correlationId: randomUUID(), occurredAt: '2025-03-01T09:00:00.000Z', actor: { id: 7, roles: ['clerk'] } };
        await store.appendToStream('s', [ev('A', {}, metadata), ev('B', {})]);
        const [a, b] = await store.readStream('s');
        expect(a.metadata).toEqual(metadata);
        expect(b.metadata).toEqual({});
      });

      it('round-trips any JSON value as data and keeps key order (hash chains depend on it)', async () => {
        const store = await fresh();
        const values = [null, 0, -1.5, 'text', true, [1, 'two', { three: 3 }], { z: 1, a: { y: 2, b: [] }, m: null }];
        await store.appendToStream('s', values.map((v) => ev('V', v)));
        const read = await store.readStream('s');
        expect(read.map((e) => e.data)).toEqual(values);
        expect(JSON.stringify(read.at(-1)!.data)).toBe(JSON.stringify(values.at(-1)));
      });

      it('records the commit time as an ISO-8601 string', async () => {
        const store = await fresh();
        await store.appendToStream('s', evs(1));
        const [e] = await store.readStream('s');
        expect(new Date(e.recordedAt).toISOString()).toBe(e.recordedAt);
      });
    });

    describe('concurrency', () => {
      it('of 20 concurrent appenders with the same exact revision, exactly one wins each revision', async () => {
        const store = await fresh();
        const handles = harness.openAnother ? [store, await another(store)] : [store];
        await store.appendToStream('s', evs(1), { expectedRevision: 'no_stream' });
        for (const revision of range(3)) {
          const outcomes = await Promise.allSettled(
            range(20).map((n) => handles[n % handles.length].appendToStream('s', [ev()], { expectedRevision: revision })),
          );
          const won = outcomes.filter((o) => o.status === 'fulfilled');
          const lost = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
          expect(won).toHaveLength(1);
          expect(lost).toHaveLength(19);
          for (const error of lost) {
            expect(error).toBeInstanceOf(ConcurrencyError);
            expect(error).toMatchObject({ streamId: 's', expected: revision, actual: revision + 1 });
          }
        }
        expect(await store.streamRevision('s')).toBe(3);
        expect(await store.readStream('s')).toHaveLength(4);
      });

      it('writers that retry on conflict never lose or duplicate a revision', async () => {
        const store = await fresh();
        const handles = harness.openAnother ? [store, await another(store)] : [store];
        const written: string[] = [];
        await Promise.all(
          range(10).map(async (writer) => {
            const s = handles[writer % handles.length];
            for (let done = 0; done < 5; ) {
              const e = ev('W', { writer });
              try {
                await s.appendToStream('s', [e], { expectedRevision: await s.streamRevision('s') });
                written.push(e.id);
                done += 1;
              } catch (error) {
                if (!(error instanceof ConcurrencyError)) throw error;
              }
            }
          }),
        );
        const events = await store.readStream('s');
        expect(events.map((e) => e.revision)).toEqual(range(50));
        expect(new Set(events.map((e) => e.id))).toEqual(new Set(written));
      });

      it('a reader never meets a new event below a position it has already passed', async () => {
        const store = await fresh();
        const handles = harness.openAnother ? [store, await another(store), await another(store)] : [store];
        let writing = true;
        const violations: string[] = [];
        const seen = new Set<number>();
        let highest = 0;
        let cursor = 0;
        const viaCursor: number[] = [];
        const reader = (async () => {
          while (writing) {
            // A cursor reader, as projections read: only positions after the last one seen.
            for (const e of await store.readAll({ afterPosition: cursor })) {
              viaCursor.push(e.position);
              cursor = e.position;
            }
            // A re-read of the recent past: anything new must lie above everything seen before.
            for (const e of await store.readAll({ afterPosition: Math.max(0, highest - 200), maxCount: 100_000 })) {
              if (seen.has(e.position)) continue;
              if (e.position < highest) violations.push(`position ${e.position} appeared after ${highest}`);
              seen.add(e.position);
              highest = Math.max(highest, e.position);
            }
            await sleep(0);
          }
        })();
        await Promise.all(
          range(24).map(async (writer) => {
            for (const n of range(15)) {
              await handles[writer % handles.length].appendToStream(`w-${writer}`, evs(1 + (n % 3)));
            }
          }),
        );
        writing = false;
        await reader;
        for (const e of await store.readAll({ afterPosition: cursor, maxCount: 100_000 })) viaCursor.push(e.position);
        expect(violations).toEqual([]);
        expect(viaCursor).toEqual((await readEverything(store)).map((e) => e.position));
        expect(viaCursor).toHaveLength(24 * (5 * 1 + 5 * 2 + 5 * 3));
      });
    });

    describe('catch-up subscription to all', () => {
      it('delivers history, then live events, in order and exactly once, while writers keep appending', async () => {
        const store = await fresh();
        for (const n of range(12)) await store.appendToStream(`history-${n % 3}`, evs(100));
        const received: RecordedEvent[] = [];
        let running = 0;
        let overlapped = false;
        const writers = Promise.all(
          range(4).map(async (w) => {
            for (const n of range(30)) {
              await store.appendToStream(`live-${w}`, [ev('Live', { n })]);
              if (n % 5 === 0) await sleep(1);
            }
          }),
        );
        const sub = store.subscribeToAll({}, async (e) => {
          running += 1;
          overlapped ||= running > 1;
          await Promise.resolve();
          received.push(e);
          running -= 1;
        });
        await sub.caughtUp;
        await writers;
        await store.appendToStream('after-caught-up', evs(3));
        const all = await readEverything(store);
        await eventually(() => received.length >= all.length);
        await sleep(50);
        await sub.close();
        expect(received.map((e) => e.position)).toEqual(all.map((e) => e.position));
        expect(received.map((e) => e.id)).toEqual(all.map((e) => e.id));
        expect(overlapped).toBe(false);
      });

      it('starts after the given position, exclusive', async () => {
        const store = await fresh();
        await store.appendToStream('s', evs(5));
        const all = await store.readAll();
        const received: number[] = [];
        const sub = store.subscribeToAll({ afterPosition: all[2].position }, (e) => void received.push(e.revision));
        await sub.caughtUp;
        expect(received).toEqual([3, 4]);
        await sub.close();
      });

      it('delivers only streams with the given prefixes', async () => {
        const store = await fresh();
        const received: string[] = [];
        const sub = store.subscribeToAll({ streamPrefixes: ['campaign-'] }, (e) => void received.push(e.streamId));
        await store.appendToStream('campaign-1', evs(1));
        await store.appendToStream('user-1', evs(1));
        await sub.caughtUp;
        await store.appendToStream('campaign-2', evs(1));
        await store.appendToStream('user-2', evs(1));
        await eventually(() => received.length >= 2);
        await sleep(50);
        expect(received).toEqual(['campaign-1', 'campaign-2']);
        await sub.close();
      });

      it('catches up at once on an empty store, then turns live', async () => {
        const store = await fresh();
        const received: RecordedEvent[] = [];
        const sub = store.subscribeToAll({}, (e) => void received.push(e));
        await sub.caughtUp;
        expect(received).toEqual([]);
        await store.appendToStream('s', evs(1));
        await eventually(() => received.length === 1);
        await sub.close();
      });

      withAnother('hears events appended through another handle on the same storage', async () => {
        const store = await fresh();
        const other = await another(store);
        const received: RecordedEvent[] = [];
        const sub = store.subscribeToAll({}, (e) => void received.push(e));
        await sub.caughtUp;
        await other.appendToStream('s', evs(2));
        await eventually(() => received.length === 2, 5000);
        await sub.close();
      });

      it('stops delivering after close, and done resolves', async () => {
        const store = await fresh();
        const received: RecordedEvent[] = [];
        const sub = store.subscribeToAll({}, (e) => void received.push(e));
        await sub.caughtUp;
        await sub.close();
        await expect(sub.done).resolves.toBeUndefined();
        await store.appendToStream('s', evs(1));
        await sleep(150);
        expect(received).toEqual([]);
      });

      it('can be closed from inside its handler', async () => {
        const store = await fresh();
        await store.appendToStream('s', evs(3));
        const received: number[] = [];
        const sub: Subscription = store.subscribeToAll({}, async (e) => {
          received.push(e.revision);
          await sub.close();
        });
        await sub.done;
        expect(received).toEqual([0]);
      });

      it('close() while a handler call is in flight stops at once: no later event, and that call may finish after', async () => {
        const store = await fresh();
        await store.appendToStream('s', evs(3));
        const received: number[] = [];
        let release!: () => void;
        const held = new Promise<void>((r) => (release = r));
        let entered!: () => void;
        const inHandler = new Promise<void>((r) => (entered = r));
        let finished = false;
        const sub = store.subscribeToAll({}, async (e) => {
          received.push(e.revision);
          entered();
          await held;
          finished = true;
        });
        await inHandler;
        await sub.close();
        await expect(sub.done).resolves.toBeUndefined();
        expect(finished).toBe(false);
        release();
        await sleep(50);
        expect(finished).toBe(true);
        expect(received).toEqual([0]);
      });

      it('a failing handler stops the subscription: done rejects and no later event is delivered', async () => {
        const store = await fresh();
        await store.appendToStream('s', evs(3));
        const received: number[] = [];
        const sub = store.subscribeToAll({}, (e) => {
          if (e.revision === 1) throw new Error('projection broke');
          received.push(e.revision);
        });
        await expect(sub.done).rejects.toThrow('projection broke');
        await expect(sub.caughtUp).rejects.toThrow('projection broke');
        expect(received).toEqual([0]);
      });

      it('closing the store closes its subscriptions', async () => {
        const store = await fresh();
        const sub = store.subscribeToAll({}, () => undefined);
        await sub.caughtUp;
        await store.close();
        await expect(sub.done).resolves.toBeUndefined();
      });
    });

    describe('lifecycle', () => {
      withReopen('events survive closing and reopening the store', async () => {
        const store = await fresh();
        await store.appendToStream('s', evs(3));
        const reopened = track(await harness.reopen!(store));
        expect(await reopened.streamRevision('s')).toBe(2);
        expect(await reopened.readStream('s')).toHaveLength(3);
        expect((await reopened.appendToStream('s', evs(1), { expectedRevision: 2 })).nextExpectedRevision).toBe(3);
      });

      it('a closed store fails every call with StoreUnavailableError', async () => {
        const store = await fresh();
        await store.close();
        const calls: Array<() => Promise<unknown>> = [
          () => store.appendToStream('s', evs(1)),
          () => store.readStream('s'),
          () => store.readAll(),
          () => store.streamRevision('s'),
          () => store.listStreams(),
          async () => store.subscribeToAll({}, () => undefined),
        ];
        for (const call of calls) {
          const error = await failure(call());
          expect(error).toBeInstanceOf(StoreUnavailableError);
          expect(error.code).toBe('STORE_UNAVAILABLE');
        }
      });
    });
  });
}
