import {
  BACKWARDS,
  END,
  excludeSystemEvents,
  FORWARDS,
  KurrentDBClient,
  START,
  streamNameFilter,
  type AllStreamSubscription,
  type AppendResult as KurrentAppendResult,
  type ReadRevision,
} from '@kurrent/kurrentdb-client';
import { assertDistinctIds, repeatedAppendResult, StoredId } from '../append-rules';
import { SubscriptionHub } from '../catch-up-subscription';
import {
  AppendOptions,
  AppendResult,
  checkExpected,
  ConcurrencyError,
  DuplicateEventError,
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
import {
  actualRevisionFromKurrent,
  eventFromKurrent,
  eventToKurrent,
  isStreamNotFound,
  isSystemEvent,
  isWrongExpectedVersion,
  positionFromKurrent,
  readPositionAfter,
  revisionFromKurrent,
  streamName,
  toPortError,
  toStreamState,
} from './kurrentdb-mapping';

export interface KurrentDbEventStoreOptions {
  /** e.g. kurrentdb://host:2113?tls=false, or kurrentdb+discover://… for a cluster. */
  connectionString: string;
  /**
   * Prepended to every stream id on the server and stripped on the way back, so that several
   * Docket installations (or test runs: a KurrentDB cannot be emptied) share one database without
   * seeing each other. Default '': stream ids map 1:1 (`campaign-<id>`).
   */
  namespace?: string;
  /** Safety net behind the live wake-up subscription: idle subscriptions re-read this often. Default 1 s. */
  pollIntervalMs?: number;
  /** How many of a stream's latest events an 'any' or 'stream_exists' append searches for its ids. Default 100. */
  idempotencyWindow?: number;
}

/**
 * KurrentDB (EventStoreDB) adapter.
 *
 * Positions are Kurrent's commit positions (see positionFromKurrent): unique per event and
 * increasing in commit order, as the port requires.
 *
 * Idempotent append: Kurrent itself answers a retried batch as the first append when the retry
 * names the same exact expected revision (or no_stream), even after the stream moved on: it checks
 * the ids stored right after that revision. Where it refuses (WrongExpectedVersion) the adapter
 * reads those revisions to tell a retry that repeats only part of a batch (DuplicateEventError)
 * from a real conflict (ConcurrencyError). For 'any' and 'stream_exists', Kurrent only consults a
 * bounded cache of recent ids, so the adapter first searches the stream's latest
 * `idempotencyWindow` events. Kurrent has no index of event ids across streams, so an id reused in
 * another stream is not refused (the conformance suite declares it as this store's limitation).
 *
 * Catch-up subscriptions are the shared SubscriptionHub, reading through readAll, so their
 * delivery rules (order, exactly once, a failing handler stops them, close from inside the handler)
 * are the same as every other adapter's. One live Kurrent subscription to $all per store only wakes
 * them when anything is appended, by this process or another. Kurrent's own catch-up subscription
 * is not used for delivery: its caught-up signal arrives beside the event stream rather than in it,
 * and it has no notion of a handler that must finish before the next event.
 */
export class KurrentDbEventStore implements EventStore {
  readonly connectionString: string;
  readonly namespace: string;
  private readonly client: KurrentDBClient;
  private readonly hub: SubscriptionHub;
  private readonly idempotencyWindow: number;
  private wake?: AllStreamSubscription;
  private rewakeTimer?: NodeJS.Timeout;
  private closed = false;

  /** Constructs and checks that $all can be read; fails with StoreUnavailableError when the server cannot be reached. */
  static async create(options: KurrentDbEventStoreOptions): Promise<KurrentDbEventStore> {
    const store = new KurrentDbEventStore(options);
    try {
      await store.ping();
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  constructor(options: KurrentDbEventStoreOptions) {
    this.connectionString = options.connectionString;
    this.namespace = options.namespace ?? '';
    this.idempotencyWindow = Math.max(1, options.idempotencyWindow ?? 100);
    this.client = KurrentDBClient.connectionString(options.connectionString);
    this.hub = new SubscriptionHub((o) => this.readAll(o), { pollIntervalMs: options.pollIntervalMs ?? 1000 });
  }

  /** One backwards read of $all: proves the server answers and lets us read it. */
  async ping(): Promise<void> {
    await this.call(async () => {
      for await (const _ of this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 })) break;
    });
  }

  async appendToStream(streamId: string, events: EventData[], options: AppendOptions = {}): Promise<AppendResult> {
    this.assertOpen();
    assertDistinctIds(streamId, events);
    const expected = options.expectedRevision ?? 'any';
    const streamState = toStreamState(expected);
    if (events.length === 0) {
      const current = await this.streamRevision(streamId);
      checkExpected(streamId, expected, current);
      return { nextExpectedRevision: current, position: 0 };
    }
    return this.call(async () => {
      if (expected === 'any' || expected === 'stream_exists') {
        const tail = await this.readStream(streamId, { direction: 'backwards', maxCount: this.idempotencyWindow });
        const repeated = repeatedAmong(streamId, events, tail);
        if (repeated) return repeated;
      }
      let result: KurrentAppendResult;
      try {
        result = await this.client.appendToStream(streamName(this.namespace, streamId), events.map(eventToKurrent), {
          streamState,
        });
      } catch (error) {
        if (!isWrongExpectedVersion(error)) throw error;
        return this.refused(streamId, events, expected, actualRevisionFromKurrent(error.actualState));
      }
      // Only with throwOnAppendFailure=false in the connection string; its revision is not reliable then.
      if (!result.success) return this.refused(streamId, events, expected, await this.streamRevision(streamId));
      const nextExpectedRevision = revisionFromKurrent(result.nextExpectedRevision);
      const position = positionFromKurrent(result.position) ?? (await this.positionOf(streamId, nextExpectedRevision));
      this.hub.notify();
      return { nextExpectedRevision, position };
    });
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    return this.call(async () => {
      const backwards = options.direction === 'backwards';
      const maxCount = Math.floor(options.maxCount ?? Number.MAX_SAFE_INTEGER);
      if (maxCount <= 0) return [];
      let fromRevision: ReadRevision;
      if (options.fromRevision === undefined) fromRevision = backwards ? END : START;
      else if (options.fromRevision < 0) {
        if (backwards) return [];
        fromRevision = START;
      } else fromRevision = BigInt(Math.floor(options.fromRevision));
      const out: RecordedEvent[] = [];
      try {
        const read = this.client.readStream(streamName(this.namespace, streamId), {
          direction: backwards ? BACKWARDS : FORWARDS,
          fromRevision,
          maxCount,
        });
        for await (const resolved of read) {
          const event = resolved.event && eventFromKurrent(resolved.event, this.namespace);
          if (event) out.push(event);
        }
      } catch (error) {
        if (isStreamNotFound(error)) return [];
        throw error;
      }
      return out;
    });
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    return this.call(() => this.readAllPage(options.afterPosition ?? 0, options.maxCount ?? 1000, options.streamPrefixes));
  }

  async streamRevision(streamId: string): Promise<number> {
    const [last] = await this.readStream(streamId, { direction: 'backwards', maxCount: 1 });
    return last ? last.revision : -1;
  }

  /**
   * Kurrent keeps no catalogue of streams we could query by prefix ($streams needs the system
   * projections, which are often off), so this reads $all once, server-side filtered by prefix:
   * O(events). Meant for the CLI and small lists, not for request paths.
   */
  async listStreams(prefix?: string): Promise<StreamInfo[]> {
    return this.call(async () => {
      const revisions = new Map<string, number>(); // insertion order = creation order
      const pageSize = 1000;
      for (let after = 0; ; ) {
        const page = await this.readAllPage(after, pageSize, prefix ? [prefix] : undefined);
        for (const e of page) revisions.set(e.streamId, e.revision);
        if (page.length < pageSize) break;
        after = page[page.length - 1].position;
      }
      return [...revisions].map(([streamId, revision]) => ({ streamId, revision }));
    });
  }

  subscribeToAll(options: SubscribeToAllOptions, handler: EventHandler): Subscription {
    this.assertOpen();
    const subscription = this.hub.subscribe(options, handler);
    this.listen();
    return subscription;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.hub.closeAll();
    this.closed = true;
    clearTimeout(this.rewakeTimer);
    const wake = this.wake;
    this.wake = undefined;
    await wake?.unsubscribe().catch(() => undefined);
    await this.client.dispose().catch(() => undefined);
  }

  /**
   * One page of $all after an exclusive position. The prefix filter runs on the server, so maxCount
   * counts matching events only; the same test runs again here, literally (the server's prefix
   * match is culture-sensitive .NET StartsWith), together with skipping Kurrent's own events.
   */
  private async readAllPage(after: number, maxCount: number, prefixes: string[] | undefined): Promise<RecordedEvent[]> {
    const max = Math.floor(maxCount);
    if (max <= 0) return [];
    const serverPrefixes = prefixes?.length
      ? prefixes.map((p) => streamName(this.namespace, p))
      : this.namespace
        ? [this.namespace]
        : undefined;
    const filter = serverPrefixes ? streamNameFilter({ prefixes: serverPrefixes }) : excludeSystemEvents();
    const out: RecordedEvent[] = [];
    let cursor = Math.max(0, after);
    for (;;) {
      const start = cursor;
      // A read from a position includes the event there: ask for one more.
      const want = max - out.length + 1;
      let returned = 0;
      for await (const resolved of this.client.readAll({ fromPosition: readPositionAfter(start), maxCount: want, filter })) {
        returned += 1;
        const e = resolved.event;
        const position = positionFromKurrent(e?.position);
        if (!e || position === undefined || position <= start) continue;
        cursor = position;
        if (isSystemEvent(e) || (serverPrefixes && !serverPrefixes.some((p) => e.streamId.startsWith(p)))) continue;
        const event = eventFromKurrent(e, this.namespace);
        if (event) out.push(event);
        if (out.length >= max) return out;
      }
      // Fewer than asked: the end of $all. No progress: nothing more to find either.
      if (returned < want || cursor === start) return out;
    }
  }

  /** The append was refused: a retry of (part of) an earlier append, or a real conflict. */
  private async refused(
    streamId: string,
    events: EventData[],
    expected: ExpectedRevision,
    actual: number,
  ): Promise<AppendResult> {
    if (expected === 'any' || (expected === 'stream_exists' && actual >= 0)) {
      // Neither can conflict on a revision: Kurrent found the batch's first id among recent events
      // and not the rest (its "corrupted idempotency").
      throw new DuplicateEventError(events[0].id, streamId, streamId);
    }
    let slot: RecordedEvent[] = [];
    if (expected !== 'stream_exists') {
      // Where a first append with this expected revision put its events.
      const first = expected === 'no_stream' ? 0 : expected + 1;
      slot = await this.readStream(streamId, { fromRevision: first, maxCount: events.length });
    }
    const repeated = repeatedAmong(streamId, events, slot);
    if (repeated) return repeated;
    throw new ConcurrencyError(streamId, expected, actual);
  }

  private async positionOf(streamId: string, revision: number): Promise<number> {
    const [event] = await this.readStream(streamId, { fromRevision: revision, maxCount: 1 });
    return event?.position ?? 0;
  }

  /** One live subscription to $all per store, from its end, that only wakes the catch-up subscriptions. */
  private listen(): void {
    if (this.wake || this.closed) return;
    const filter = this.namespace ? streamNameFilter({ prefixes: [this.namespace] }) : excludeSystemEvents();
    let wake: AllStreamSubscription;
    try {
      wake = this.client.subscribeToAll({ fromPosition: END, filter });
    } catch {
      this.listenLater();
      return;
    }
    this.wake = wake;
    const lost = () => {
      if (this.wake !== wake) return;
      this.wake = undefined;
      void wake.unsubscribe().catch(() => undefined);
      this.listenLater(); // polling carries the subscriptions meanwhile
    };
    wake.on('data', () => this.hub.notify());
    // Anything committed before the server confirmed is not announced: read once more.
    wake.on('confirmation', () => this.hub.notify());
    wake.on('error', lost);
    wake.on('end', lost);
    wake.on('close', lost);
  }

  private listenLater(): void {
    if (this.closed || this.rewakeTimer) return;
    this.rewakeTimer = setTimeout(() => {
      this.rewakeTimer = undefined;
      if (this.hub.size > 0) this.listen();
    }, 1000);
    this.rewakeTimer.unref();
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreUnavailableError('the KurrentDB event store is closed');
  }

  /** Runs a call against the server; connection failures become StoreUnavailableError. */
  private async call<T>(work: () => Promise<T>): Promise<T> {
    this.assertOpen();
    try {
      return await work();
    } catch (error) {
      throw toPortError(error);
    }
  }
}

/** The port's idempotency rule (append-rules.ts) over events read from the stream. */
function repeatedAmong(streamId: string, events: EventData[], stored: RecordedEvent[]): AppendResult | undefined {
  if (stored.length === 0) return undefined;
  const byId = new Map<string, StoredId>(stored.map((e) => [e.id, { streamId: e.streamId, revision: e.revision, position: e.position }]));
  return repeatedAppendResult(streamId, events, (id) => byId.get(id));
}
