import { randomUUID } from 'node:crypto';
import { eventHash, GENESIS_HASH } from '../audit/domain/hash-chain';
import type { AppendResult, EventData, EventStore } from './event-store.port';

/** The last event of a stream as its writer knows it: the next append expects this revision and links to this hash. */
export interface ChainHead {
  revision: number;
  hash: string;
}

/** An event to append: its metadata is completed with prevHash and hash. */
export interface UnchainedEvent {
  type: string;
  data: unknown;
  /** None is an empty object. */
  metadata?: Record<string, unknown>;
  /** Defaults to a random UUID (v4): ids carry no order, time or origin. */
  id?: string;
}

export interface ChainedEvent extends EventData {
  revision: number;
  metadata: Record<string, unknown> & { prevHash: string; hash: string };
}

/**
 * Links events to the head of their stream: each one's metadata gets the predecessor's
 * hash (prevHash) and its own (hash), as src/audit/domain/hash-chain.ts verifies them.
 */
export function linkEvents(head: ChainHead | null, events: readonly UnchainedEvent[]): EventData[] {
  return linkAfter(head?.hash ?? GENESIS_HASH, events);
}

/** linkEvents, after the event whose hash is `prevHash` (GENESIS_HASH: the stream's first events). */
export function linkAfter(prevHash: string, events: readonly UnchainedEvent[]): EventData[] {
  return events.map((e) => {
    const id = e.id ?? randomUUID();
    const metadata: Record<string, unknown> = { ...e.metadata, prevHash };
    metadata.hash = eventHash(prevHash, { id, type: e.type, data: e.data, metadata });
    prevHash = metadata.hash as string;
    return { id, type: e.type, data: e.data, metadata };
  });
}

/**
 * The events linked with hashes computed elsewhere (by a store that hashes off the event loop,
 * with linkEvents' own rule): each one's metadata gets prevHash and hash, in that order, as
 * linkEvents gives them.
 */
export function withHashes(prevHash: string, events: readonly EventData[], hashes: readonly string[]): EventData[] {
  return events.map((e, i) => {
    const metadata = { ...e.metadata, prevHash, hash: hashes[i] };
    prevHash = hashes[i];
    return { id: e.id, type: e.type, data: e.data, metadata };
  });
}

/**
 * A store that links what it appends itself: given the head's hash, it gives each event its
 * prevHash and hash (exactly as linkEvents would) where that costs the service's event loop
 * nothing. The SQLite store does so on its writer thread. `events` are the linked events,
 * as stored.
 */
export interface LinkingEventStore extends EventStore {
  appendLinked(streamId: string, head: ChainHead | null, events: readonly UnchainedEvent[]): Promise<{ events: EventData[]; result: AppendResult }>;
}

function linksItself(store: EventStore): store is LinkingEventStore {
  return typeof (store as Partial<LinkingEventStore>).appendLinked === 'function';
}

/**
 * Appends events after `head` (null: the stream must not exist yet) with the expected
 * revision and the hash chain; a ConcurrencyError when another writer got there first.
 * `position` is the global position of the last event written. Every stream of the log (campaigns, evaluations) is written through here.
 *
 * When every id was stored already (a retry, or another writer appended the same ids first, as
 * two instances issuing the same reminder do), nothing is written and the events returned are
 * the ones the log holds, read back: their metadata, and so their hashes, are the first writer's,
 * and a caller that keeps the last one as its head links the next append to the real chain.
 */
export async function appendChained(
  store: EventStore,
  streamId: string,
  head: ChainHead | null,
  events: readonly UnchainedEvent[],
): Promise<{ events: ChainedEvent[]; position: number; repeated?: true }> {
  let data: EventData[];
  let result: AppendResult;
  if (linksItself(store)) {
    ({ events: data, result } = await store.appendLinked(streamId, head, events));
  } else {
    data = linkEvents(head, events);
    result = await store.appendToStream(streamId, data, { expectedRevision: head ? head.revision : 'no_stream' });
  }
  const first = result.nextExpectedRevision - data.length + 1;
  if (result.repeated) {
    const ids = new Set(data.map((d) => d.id));
    let stored = await store.readStream(streamId, { fromRevision: first, maxCount: data.length });
    // They were appended together, so they end at the revision reported; should they not have been, find them.
    if (stored.length !== data.length || stored.some((e) => !ids.has(e.id))) stored = (await store.readStream(streamId)).filter((e) => ids.has(e.id));
    const events = stored.map(({ id, type, data, metadata, revision }) => ({ id, type, data, metadata, revision }) as ChainedEvent);
    return { events, position: result.position, repeated: true };
  }
  return { events: data.map((d, i) => ({ ...d, revision: first + i }) as ChainedEvent), position: result.position };
}
