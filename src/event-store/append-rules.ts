import { AppendResult, DuplicateEventError, EventData } from './event-store.port';

/** Where an event id is already stored. */
export interface StoredId {
  streamId: string;
  revision: number;
  position: number;
}

/** A batch must not name the same event twice: the second would silently vanish as a "duplicate". */
export function assertDistinctIds(streamId: string, events: EventData[]): void {
  const seen = new Set<string>();
  for (const e of events) {
    if (seen.has(e.id)) {
      throw new DuplicateEventError(e.id, streamId, streamId, `stream ${streamId}: event ${e.id} appears twice in one batch`);
    }
    seen.add(e.id);
  }
}

/**
 * Idempotent append, shared by every adapter so they agree: a batch whose ids are all already in this
 * stream is a retry and answers as the first append did (checked before the expected revision, so a
 * retry with the then-valid revision still succeeds), and says so (repeated). Any other overlap is an error.
 * Returns undefined when none of the ids is stored yet.
 */
export function repeatedAppendResult(
  streamId: string,
  events: EventData[],
  stored: (id: string) => StoredId | undefined,
): AppendResult | undefined {
  let found = 0;
  let last: StoredId | undefined;
  for (const e of events) {
    const hit = stored(e.id);
    if (!hit) continue;
    if (hit.streamId !== streamId) throw new DuplicateEventError(e.id, streamId, hit.streamId);
    found += 1;
    if (!last || hit.position > last.position) last = hit;
  }
  if (!last) return undefined;
  if (found !== events.length) throw new DuplicateEventError(events[0].id, streamId, streamId);
  return { nextExpectedRevision: last.revision, position: last.position, repeated: true };
}
