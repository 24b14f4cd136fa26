/**
 * The one event-store port every adapter (SQLite, PostgreSQL, KurrentDB) implements.
 * Revisions are per stream and start at 0; positions are global, strictly increasing
 * in commit order, and start at 1. Both are plain numbers: 2^53 events is out of reach.
 */
export const EVENT_STORE = Symbol('EVENT_STORE');

/** 'no_stream': the stream must not exist; 'stream_exists': it must; 'any': no check; a number: the exact current revision. */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | number;

export interface EventData {
  /** Unique id (UUID). Appending an event whose id is already in the stream is a no-op. */
  id: string;
  type: string;
  data: unknown;
  metadata?: Record<string, unknown>;
}

export interface RecordedEvent {
  id: string;
  streamId: string;
  type: string;
  revision: number;
  position: number;
  data: any;
  metadata: Record<string, any>;
  /** When the store committed it (informational; domain time is metadata.occurredAt). */
  recordedAt: string;
}

export interface AppendOptions {
  expectedRevision?: ExpectedRevision;
}

export interface AppendResult {
  /** The stream's revision after the append (the last event's revision). */
  nextExpectedRevision: number;
  /** Global position of the last event written (or of the existing event, for a duplicate). */
  position: number;
  /**
   * Every event of the append was in the stream already (the same ids: a retry, or another
   * writer got there first with them): nothing was written, and the revision and position are
   * the stored events'. Their data and metadata are the stored ones, which may differ from the
   * append's (another writer's time, correlation id, hashes).
   */
  repeated?: true;
}

export interface ReadStreamOptions {
  direction?: 'forwards' | 'backwards';
  /** Inclusive. Forwards defaults to 0, backwards to the end. */
  fromRevision?: number;
  maxCount?: number;
}

export interface ReadAllOptions {
  /** Exclusive: events with position strictly greater than this. Defaults to 0 (from the start). */
  afterPosition?: number;
  /** Defaults to 1000: readAll is paged; loop on the last position to read everything. */
  maxCount?: number;
  /** Only streams whose id starts with one of these prefixes. */
  streamPrefixes?: string[];
}

export interface SubscribeToAllOptions {
  /** Exclusive, as in readAll. Defaults to 0 (from the start). */
  afterPosition?: number;
  /** Only streams whose id starts with one of these prefixes. */
  streamPrefixes?: string[];
}

export type EventHandler = (event: RecordedEvent) => Promise<void> | void;

/**
 * A catch-up subscription: it delivers every event after the position exactly once, in global
 * order, awaiting the handler before the next event, then stays live and delivers new events.
 */
export interface Subscription {
  /** Resolves when the subscription has delivered everything committed before it reached the head
   *  (from then on it is live). Rejects if it stops first. */
  readonly caughtUp: Promise<void>;
  /** Settles when the subscription stops: resolves after close(), rejects with the handler's error
   *  (a failing handler stops delivery; the event is not skipped). */
  readonly done: Promise<void>;
  /** Stops delivery: no handler call starts after it. Resolves once the subscription has stopped,
   *  without waiting for a handler call already running; so it is safe to await inside the handler. */
  close(): Promise<void>;
}

export interface StreamInfo {
  streamId: string;
  revision: number;
}

export interface EventStore {
  appendToStream(streamId: string, events: EventData[], options?: AppendOptions): Promise<AppendResult>;
  /** Events in revision order; an empty array when the stream does not exist. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** Events of all streams in global commit order. */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /** Current revision of a stream, or -1 when it does not exist. */
  streamRevision(streamId: string): Promise<number>;
  /** Stream ids with their revisions, optionally by prefix, in creation order. */
  listStreams(prefix?: string): Promise<StreamInfo[]>;
  /** Catch-up subscription to all streams; see Subscription. Store errors are retried, handler errors stop it. */
  subscribeToAll(options: SubscribeToAllOptions, handler: EventHandler): Subscription;
  /** Closes the open subscriptions, then the storage. Any later call fails with StoreUnavailableError. */
  close(): Promise<void>;
}

/** The one typed error for a failed expected-revision check. */
export class ConcurrencyError extends Error {
  readonly code = 'CONCURRENCY_CONFLICT';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    readonly actual: number,
  ) {
    super(`stream ${streamId}: expected revision ${String(expected)}, actual ${actual === -1 ? 'no stream' : actual}`);
    this.name = 'ConcurrencyError';
  }
}

/** The store could not be reached or failed; the command may be retried later. */
export class StoreUnavailableError extends Error {
  readonly code = 'STORE_UNAVAILABLE';
  constructor(message: string, readonly cause?: unknown) {
    super(message);
    this.name = 'StoreUnavailableError';
  }
}

export function checkExpected(streamId: string, expected: ExpectedRevision | undefined, actual: number): void {
  if (expected === undefined || expected === 'any') return;
  const ok =
    expected === 'no_stream' ? actual === -1 : expected === 'stream_exists' ? actual >= 0 : actual === expected;
  if (!ok) throw new ConcurrencyError(streamId, expected, actual);
}

/**
 * An event id that already exists in another stream, a batch that repeats only part of an earlier
 * append, or a batch that holds the same id twice.
 */
export class DuplicateEventError extends Error {
  readonly code = 'DUPLICATE_EVENT_ID';
  constructor(
    readonly eventId: string,
    readonly streamId: string,
    readonly existingStreamId: string,
    message?: string,
  ) {
    super(
      message ??
        (existingStreamId === streamId
          ? `stream ${streamId}: the batch starting with event ${eventId} repeats only part of an earlier append`
          : `event ${eventId} already exists in stream ${existingStreamId}`),
    );
    this.name = 'DuplicateEventError';
  }
}
