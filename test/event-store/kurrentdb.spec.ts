import { randomBytes } from 'node:crypto';
import { EventStore, StoreUnavailableError } from '../../src/event-store/event-store.port';
import { KurrentDbEventStore } from '../../src/event-store/kurrentdb/kurrentdb-event-store';
import { describeEventStoreConformance } from './event-store.conformance';

/**
 * The shared conformance suite against a real KurrentDB, when KURRENTDB_URL names one
 * (e.g. kurrentdb://localhost:2113?tls=false). A KurrentDB cannot be emptied, so every store the
 * suite opens gets its own namespace: stream names unique to this run, and a $all that, read
 * through the store, holds only that store's events.
 */
const url = process.env.KURRENTDB_URL;
// A single node: compose's three-node cluster advertises names the host cannot resolve, and its
// default 1 MiB append limit is below the suite's 1 MB payload plus JSON.
const SKIPPED =
  'KurrentDB conformance: skipped because KURRENTDB_URL is not set (start one with ' +
  '`docker run -d -p 2113:2113 -e KURRENTDB_INSECURE=true -e KURRENTDB_MAX_APPEND_SIZE=4194304 docker.kurrent.io/kurrent-latest/kurrentdb:25.0.1`, ' +
  'then KURRENTDB_URL=kurrentdb://localhost:2113?tls=false npx jest test/event-store/kurrentdb.spec.ts)';

if (url) {
  const run = `docket-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  let count = 0;
  // A poll far beyond the test timeouts: live delivery must come from the wake-up subscription.
  const open = (namespace: string) => KurrentDbEventStore.create({ connectionString: url, namespace, pollIntervalMs: 600_000 });
  const namespaceOf = (store: EventStore) => (store as KurrentDbEventStore).namespace;

  describeEventStoreConformance('KurrentDB', {
    // The trailing ':' keeps run-1 from being a prefix of run-10.
    create: () => open(`${run}-${++count}:`),
    reopen: async (store) => {
      await store.close();
      return open(namespaceOf(store));
    },
    openAnother: (store) => open(namespaceOf(store)),
    limitations: {
      eventIdsUniqueAcrossStreams: 'KurrentDB checks event ids within a stream only and has no index of ids across streams',
    },
  });
} else {
  describe('KurrentDB event store', () => {
    it(SKIPPED, () => {
      console.warn(SKIPPED);
    });
  });
}

describe('KurrentDB event store, adapter specifics', () => {
  it('fails with StoreUnavailableError when the server cannot be reached', async () => {
    const unreachable = KurrentDbEventStore.create({ connectionString: 'kurrentdb://127.0.0.1:1?tls=false' });
    await expect(unreachable).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('a closed store fails every call with StoreUnavailableError without reaching the server', async () => {
    const store = new KurrentDbEventStore({ connectionString: 'kurrentdb://127.0.0.1:1?tls=false' });
    await store.close();
    await expect(store.appendToStream('s', [{ id: 'e', type: 'T', data: {} }])).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.readAll()).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(() => store.subscribeToAll({}, () => undefined)).toThrow(StoreUnavailableError);
  });
});
