import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { ConcurrencyError, EventStore, StoreUnavailableError } from '../../src/event-store/event-store.port';
import { PostgresEventStore } from '../../src/event-store/postgres/postgres-event-store';
import { dropSchema, PG_URL as url } from '../support/postgres';
import { describeEventStoreConformance } from './event-store.conformance';

// One schema per store, unique per run and jest worker; all dropped at the end.
const run = `es_test_${process.pid}_${randomBytes(3).toString('hex')}`;
const schemas: string[] = [];
let count = 0;
const newSchema = (suffix = '') => {
  const schema = `${run}_${++count}${suffix}`;
  schemas.push(schema);
  return schema;
};
// A poll far beyond the test timeouts: live delivery across handles must come from LISTEN/NOTIFY.
const open = (schema: string) => PostgresEventStore.create({ connectionString: url, schema, pollIntervalMs: 600_000 });
const schemaOf = (store: EventStore) => (store as PostgresEventStore).schema;

async function admin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

afterAll(async () => {
  for (const schema of schemas) await dropSchema(schema);
});

describeEventStoreConformance('PostgreSQL', {
  create: () => open(newSchema()),
  reopen: async (store) => {
    await store.close();
    return open(schemaOf(store));
  },
  openAnother: (store) => open(schemaOf(store)),
});

describe('PostgreSQL event store, adapter specifics', () => {
  it('fails with StoreUnavailableError when the server cannot be reached', async () => {
    const unreachable = PostgresEventStore.create({ connectionString: 'postgres://postgres@127.0.0.1:1/test', connectTimeoutMs: 2000 });
    await expect(unreachable).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('several processes can create the same schema at once', async () => {
    const schema = newSchema();
    const stores = await Promise.all([1, 2, 3, 4, 5].map(() => open(schema)));
    await Promise.all(stores.map((s, n) => s.appendToStream(`s-${n}`, [{ id: `e-${n}`, type: 'T', data: {} }])));
    expect(await stores[0].listStreams()).toHaveLength(5);
    await Promise.all(stores.map((s) => s.close()));
  });

  it('refused and repeated appends leave no hole in the positions', async () => {
    const store = await open(newSchema());
    const first = await store.appendToStream('s', [{ id: 'a', type: 'T', data: {} }, { id: 'b', type: 'T', data: {} }]);
    await expect(store.appendToStream('s', [{ id: 'c', type: 'T', data: {} }], { expectedRevision: 0 })).rejects.toThrow(/expected revision 0/);
    await expect(store.appendToStream('other', [{ id: 'a', type: 'T', data: {} }])).rejects.toThrow(/already exists in stream s/);
    await expect(store.appendToStream('s', [{ id: 'b', type: 'T', data: {} }, { id: 'd', type: 'T', data: {} }])).rejects.toThrow(/repeats only part/);
    expect(await store.appendToStream('s', [{ id: 'a', type: 'T', data: {} }, { id: 'b', type: 'T', data: {} }], { expectedRevision: 'no_stream' })).toEqual({ ...first, repeated: true });
    const next = await store.appendToStream('s', [{ id: 'c', type: 'T', data: {} }], { expectedRevision: 1 });
    expect(next).toEqual({ nextExpectedRevision: 2, position: first.position + 1 });
    expect((await store.readAll()).map((e) => e.position)).toEqual([1, 2, 3]);
    await store.close();
  });

  it.each([
    ['on a new schema, never analysed', false],
    ['on a schema analysed while it held one event (autovacuum off, or not run since)', true],
  ])('an append probes the id index rather than scanning every event %s (the function keeps its plans for the session)', async (_, analysed) => {
    const store = await open(newSchema());
    await store.appendToStream('seed', [{ id: 'seed', type: 'T', data: {} }]);
    const schema = schemaOf(store);
    const fn = `"${schema}".docket_append`;
    const scans = await admin(async (client) => {
      if (analysed) await client.query(`ANALYZE "${schema}".events`);
      // One transaction, so pg_stat_xact_user_tables counts exactly its own scans.
      await client.query('BEGIN');
      for (let i = 0; i < 20; i++) {
        const ids = i % 2 ? [`one-${i}`] : [`a-${i}`, `b-${i}`];
        const { rows } = await client.query(`SELECT r_status FROM ${fn}($1, 'any', $2::text[], $3::text[], $4::json[], $5::json[])`, [
          `s-${i}`,
          ids,
          ids.map(() => 'T'),
          ids.map(() => '{}'),
          ids.map(() => '{}'),
        ]);
        expect(rows[0].r_status).toBe('ok');
      }
      // A repeat is still found (the lookup answers with where the ids are).
      const repeat = await client.query(`SELECT r_status FROM ${fn}('s-1', 'any', ARRAY['one-1'], ARRAY['T'], ARRAY['{}'::json], ARRAY['{}'::json])`);
      expect(repeat.rows[0].r_status).toBe('stored');
      const { rows } = await client.query(`SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables WHERE schemaname = $1 AND relname = 'events'`, [schema]);
      await client.query('ROLLBACK');
      return rows[0];
    });
    expect(Number(scans.seq_scan)).toBe(0);
    expect(Number(scans.idx_scan)).toBeGreaterThanOrEqual(21);
    await store.close();
  });

  it('an untyped caller passing a revision as a string gets the same refusal as the other adapters', async () => {
    const store = await open(newSchema());
    await store.appendToStream('s', [{ id: 'a', type: 'T', data: {} }]);
    await expect(store.appendToStream('s', [{ id: 'b', type: 'T', data: {} }], { expectedRevision: '0' as any })).rejects.toBeInstanceOf(ConcurrencyError);
    await expect(store.appendToStream('s', [{ id: 'b', type: 'T', data: {} }], { expectedRevision: 0.5 })).rejects.toBeInstanceOf(ConcurrencyError);
    expect(await store.streamRevision('s')).toBe(0);
    await store.close();
  });

  it('quotes schema names that need it', async () => {
    const schema = newSchema(` Odd "name" 'q' $$`);
    const store = await open(schema);
    await store.appendToStream('s', [{ id: 'e', type: 'T', data: {} }]);
    const received: string[] = [];
    const sub = store.subscribeToAll({}, (e) => void received.push(e.id));
    await sub.caughtUp;
    expect(received).toEqual(['e']);
    await store.close();
  });

  it('a subscription keeps hearing other writers after its LISTEN connection is killed', async () => {
    const store = await open(newSchema());
    const other = await open(store.schema);
    const received: string[] = [];
    const sub = store.subscribeToAll({}, (e) => void received.push(e.id));
    await sub.caughtUp;
    const listening = async () =>
      admin(async (c) => (await c.query(`SELECT pid FROM pg_stat_activity WHERE query = $1`, [`LISTEN "docket_events_${store.schema}"`])).rows);
    let pids: { pid: number }[] = [];
    for (let n = 0; n < 100 && pids.length === 0; n++) {
      pids = await listening();
      if (!pids.length) await new Promise((r) => setTimeout(r, 20));
    }
    expect(pids).toHaveLength(1);
    await admin((c) => c.query('SELECT pg_terminate_backend($1)', [pids[0].pid]));
    await new Promise((r) => setTimeout(r, 1500)); // the listener reconnects after about a second
    await other.appendToStream('s', [{ id: 'after-kill', type: 'T', data: {} }]);
    const deadline = Date.now() + 5000;
    while (!received.includes('after-kill') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(received).toEqual(['after-kill']);
    await Promise.all([store.close(), other.close()]);
  });
});
