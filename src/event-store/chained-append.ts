import { randomUUID } from 'node:crypto';
import { eventHash, GENESIS_HASH } from '../audit/domain/hash-chain';
import type { EventData, EventStore } from './event-store.port';

/** The last event of a stream as its writer knows it: the next append expects this revision and links to this hash. */
export interface ChainHead {
  revision: number;
  hash: string;
}

/** An event to append: its metadata is completed with prevHash and hash. */
export interface UnchainedEvent {
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
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
  let prevHash = head?.hash ?? GENESIS_HASH;
  return events.map((e) => {
    const id = e.id ?? randomUUID();
    const metadata: Record<string, unknown> = { ...e.metadata, prevHash };
    metadata.hash = eventHash(prevHash, { id, type: e.type, data: e.data, metadata });
    prevHash = metadata.hash as string;
    return { id, type: e.type, data: e.data, metadata };
  });
}

/**
 * Appends events after `head` (null: the stream must not exist yet) with the expected
 * revision and the hash chain; a ConcurrencyError when another writer got there first.
 * `position` is the global position of the last event written. Every stream of the log (campaigns, evaluations) is written through here.
 */
export async function appendChained(
  store: EventStore,
  streamId: string,
  head: ChainHead | null,
  events: readonly UnchainedEvent[],
): Promise<{ events: ChainedEvent[]; position: number }> {
  const data = linkEvents(head, events);
  const result = await store.appendToStream(streamId, data, { expectedRevision: head ? head.revision : 'no_stream' });
  const first = result.nextExpectedRevision - data.length + 1;
  return { events: data.map((d, i) => ({ ...d, revision: first + i }) as ChainedEvent), position: result.position };
}
