import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventStore, StoreUnavailableError } from '../../src/event-store/event-store.port';
import { SqliteEventStore } from '../../src/event-store/sqlite/sqlite-event-store';
import { describeEventStoreConformance } from './event-store.conformance';

const dir = mkdtempSync(join(tmpdir(), 'docket-event-store-'));
let count = 0;
// A short poll so that a second handle on the file (another process, in production) is heard quickly.
const open = (filename: string) => new SqliteEventStore({ filename, synchronous: 'NORMAL', pollIntervalMs: 50 });
const filenameOf = (store: EventStore) => (store as SqliteEventStore).db.name;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeEventStoreConformance('SQLite', {
  create: async () => open(join(dir, `store-${++count}.db`)),
  reopen: async (store) => {
    await store.close();
    return open(filenameOf(store));
  },
  openAnother: async (store) => open(filenameOf(store)),
});

describe('SQLite event store, adapter specifics', () => {
  it('fails with StoreUnavailableError when the file cannot be opened', () => {
    const notADirectory = join(dir, 'plain-file');
    writeFileSync(notADirectory, '');
    expect(() => open(join(notADirectory, 'events.db'))).toThrow(StoreUnavailableError);
  });
});
