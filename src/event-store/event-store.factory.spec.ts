import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/config';
import type { EventStore } from './event-store.port';

const mockLoaded = new Set<string>();
jest.mock('@kurrent/kurrentdb-client', () => {
  mockLoaded.add('@kurrent/kurrentdb-client');
  return jest.requireActual('@kurrent/kurrentdb-client');
});
jest.mock('./postgres/postgres-event-store', () => {
  mockLoaded.add('postgres-event-store');
  return jest.requireActual('./postgres/postgres-event-store');
});

/** The factory from a fresh module registry, so that whatever it imports is loaded (and recorded) again. */
function freshFactory(): typeof import('./event-store.factory') {
  let factory!: typeof import('./event-store.factory');
  jest.isolateModules(() => {
    factory = require('./event-store.factory');
  });
  return factory;
}

describe('createEventStore', () => {
  let dir: string;
  const opened: EventStore[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'docket-factory-'));
    mockLoaded.clear();
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens the embedded SQLite store without loading the KurrentDB client or the PostgreSQL adapter', async () => {
    const store = freshFactory().createEventStore(loadConfig({ DOCKET_DATA_DIR: dir }, dir));
    opened.push(store);
    await store.appendToStream('s-1', [{ id: 'e-1', type: 'T', data: {}, metadata: {} }], { expectedRevision: 'no_stream' });
    expect(await store.readStream('s-1')).toHaveLength(1);
    expect([...mockLoaded]).toEqual([]);
  });

  it('loads the KurrentDB client only when DOCKET_STORE=kurrentdb', async () => {
    const store = freshFactory().createEventStore(loadConfig({ DOCKET_DATA_DIR: dir, DOCKET_STORE: 'kurrentdb', KURRENTDB_URL: 'kurrentdb://127.0.0.1:1?tls=false' }, dir));
    opened.push(store);
    expect(store.constructor.name).toBe('KurrentDbEventStore');
    expect(mockLoaded.has('@kurrent/kurrentdb-client')).toBe(true);
  });

  it('loads the PostgreSQL adapter only when DOCKET_STORE=postgres, and reports an unreachable server instead of failing', async () => {
    const { createEventStore } = freshFactory();
    expect([...mockLoaded]).toEqual([]);
    const errors: string[] = [];
    const reported = new Promise<void>((done) => {
      const store = createEventStore(loadConfig({ DOCKET_DATA_DIR: dir, DOCKET_STORE: 'postgres', DATABASE_URL: 'postgres://docket@127.0.0.1:1/docket' }, dir), (m) => {
        errors.push(m);
        done();
      });
      opened.push(store);
      expect(store.constructor.name).toBe('PostgresEventStore');
    });
    expect(mockLoaded.has('postgres-event-store')).toBe(true);
    await reported;
    expect(errors[0]).toMatch(/PostgreSQL is not reachable yet/);
  });
});
