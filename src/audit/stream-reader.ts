import type { EventStore, RecordedEvent } from '../event-store/event-store.port';

/** Reads a stream forwards in pages, so a long history is never held whole. Gaps are stepped over. */
export async function* readStreamPaged(store: EventStore, streamId: string, options: { fromRevision?: number; pageSize?: number } = {}): AsyncGenerator<RecordedEvent> {
  const pageSize = options.pageSize ?? 2000;
  let from = options.fromRevision ?? 0;
  for (;;) {
    const page = await store.readStream(streamId, { fromRevision: from, maxCount: pageSize });
    for (const e of page) yield e;
    if (page.length < pageSize) return;
    from = page[page.length - 1].revision + 1;
  }
}

/** Reads the whole log in global order, in pages. */
export async function* readAllPaged(store: EventStore, pageSize = 5000): AsyncGenerator<RecordedEvent> {
  let after = 0;
  for (;;) {
    const page = await store.readAll({ afterPosition: after, maxCount: pageSize });
    for (const e of page) yield e;
    if (page.length < pageSize) return;
    after = page[page.length - 1].position;
  }
}
