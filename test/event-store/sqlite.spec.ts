import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventStore, StoreUnavailableError } from '../../src/event-store/event-store.port';
import { SqliteEventStore } from '../../src/event-store/sqlite/sqlite-event-store';
import { describeEventStoreConformance } from './event-store.conformance';

const dir = mkdtempSync(join(tmpdir(), 'docket-event-store-'));
let count = 0;
// A short poll so that a second handle on the file (another process, in production) is heard quickly.
const open = (filename: string, writerThread = false) => new SqliteEventStore({ filename, synchronous: 'NORMAL', pollIntervalMs: 50, writerThread });
const filenameOf = (store: EventStore) => (store as SqliteEventStore).db.name;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Committing on the calling thread (the default) and on a writer thread (DOCKET_SQLITE_WRITER_THREAD) keep the same contract.
for (const writerThread of [false, true]) {
  describeEventStoreConformance(writerThread ? 'SQLite, group commits on a writer thread' : 'SQLite', {
    create: async () => open(join(dir, `store-${++count}.db`), writerThread),
    reopen: async (store) => {
      await store.close();
      return open(filenameOf(store), writerThread);
    },
    openAnother: async (store) => open(filenameOf(store), writerThread),
  });
}

describe('SQLite event store, adapter specifics', () => {
  it('fails with StoreUnavailableError when the file cannot be opened', () => {
    const notADirectory = join(dir, 'plain-file');
    writeFileSync(notADirectory, '');
    expect(() => open(join(notADirectory, 'events.db'))).toThrow(StoreUnavailableError);
  });
});
