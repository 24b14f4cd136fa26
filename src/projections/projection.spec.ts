import { migratedReadModelDb, readModelDialects } from '../../test/support/read-model-dialects';
import { Docket, removeDir, startDocket } from '../../test/support/docket-harness';
import type { EventStore, RecordedEvent } from '../event-store/event-store.port';
import { loadWorkflowsDir } from '../workflows/workflow-loader';
import { campaignHistory } from '../bench/seed';
import { CAMPAIGN_READ_MODEL_INDEXES, DefinitionCache } from './campaign-read-model';
import { projectBatch } from './projection';
import { Projector } from './projector';
import { rebuildReadModels } from './rebuild';
import { SqlDb, SqliteDb } from './sql-db';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { loadConfig, storageConfig } from '../config/config';
import type { CampaignChange } from './projection';

const at = (minute: number) => new Date(Date.UTC(2013, 8, 1, 0, minute)).toISOString();

/** Campaign c1's launch and first submissions, then a reminder about it: a log a rebuild may take in one batch. */
function log(): RecordedEvent[] {
  const workflow = loadWorkflowsDir().find((w) => w.id === 'three-searches')!;
  const history = campaignHistory({ campaignId: 'c1', workflow, units: 3, stages: 0, lastStageShare: 1 }, new Date(at(0)));
  const events: RecordedEvent[] = history.map((e, i) => ({
    id: `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`,
    streamId: 'campaign-c1',
    type: e.type,
    revision: i,
    position: i + 1,
    data: e.data,
    metadata: { occurredAt: at(i), actor: { sub: 'office', role: 'bureau' } },
    recordedAt: at(i),
  }));
  const position = events.length + 1;
  events.push({
    id: `00000000-0000-4000-8000-${String(position).padStart(12, '0')}`,
    streamId: 'reminders-c1',
    type: 'ReminderIssued',
    revision: 0,
    position,
    data: {
      campaignId: 'c1', stage: 'learning', stageEnteredAt: at(0), deadline: '2013-10-10T00:00:00.000Z',
      unit: 'unit-3', level: 'before', occurrence: 1, dueAt: '2013-10-07T00:00:00.000Z', late: false, deliverables: [{ id: 'problem-list', status: 'missing' }],
    },
    metadata: { occurredAt: at(position), actor: { sub: 'scheduler', role: 'system' } },
    recordedAt: at(position),
  });
  return events;
}

const storeOf = (events: RecordedEvent[]) =>
  ({
    readAll: async (o: { afterPosition?: number; maxCount?: number }) => events.filter((e) => e.position > (o.afterPosition ?? 0)).slice(0, o.maxCount ?? 1000),
  }) as unknown as EventStore;

async function indexes(db: SqlDb): Promise<string[]> {
  const rows =
    db.dialect === 'postgres'
      ? await db.all<{ name: string }>('SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema()')
      : await db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index'");
  return rows.map((r) => r.name).sort();
}

const queryIndexes = CAMPAIGN_READ_MODEL_INDEXES.map((i) => i.name).sort();

describe.each(readModelDialects('projection_spec'))('projecting on %s', (_name, make) => {
  let db: SqlDb;
  migratedReadModelDb(make, (opened) => (db = opened));

  it("words a reminder's outbox row with its campaign's title and stage names when the campaign was launched in the same batch", async () => {
    const events = log();
    await projectBatch(db, new DefinitionCache(), events.slice(0, -1));
    await projectBatch(db, new DefinitionCache(), events.slice(-1));
    const apart = await db.all<{ delivery_id: string; event: string }>('SELECT delivery_id, event FROM delivery_outbox ORDER BY delivery_id');
    expect(JSON.parse(apart[0].event)).toMatchObject({ campaignTitle: expect.stringContaining('c1'), titles: { stage: { en: expect.not.stringMatching(/^learning$/) } } });

    await rebuildReadModels(storeOf([]), db); // empty read models
    await db.run('DELETE FROM delivery_outbox');
    await projectBatch(db, new DefinitionCache(), events);
    expect(await db.all('SELECT delivery_id, event FROM delivery_outbox ORDER BY delivery_id')).toEqual(apart);
  });

  it('leaves a rebuild with its query indexes, and the read models equal to a projection event by event', async () => {
    const events = log();
    await rebuildReadModels(storeOf(events), db);
    expect(await indexes(db)).toEqual(expect.arrayContaining(queryIndexes));
    const rebuilt = await db.all('SELECT * FROM rm_deliverables ORDER BY unit_id, deliverable');
    await rebuildReadModels(storeOf([]), db);
    const defs = new DefinitionCache();
    for (const e of events) await projectBatch(db, defs, [e]);
    expect(await db.all('SELECT * FROM rm_deliverables ORDER BY unit_id, deliverable')).toEqual(rebuilt);
  });
});

describe('the projector of a service on a new read-model db', () => {
  let docket: Docket;
  afterAll(async () => {
    await docket?.close();
    if (docket) removeDir(docket.dataDir);
  });

  it('builds the query indexes once it has caught up', async () => {
    docket = await startDocket();
    const db = docket.app.get(Projector).db;
    let found: string[] = [];
    for (let i = 0; i < 100 && !queryIndexes.every((n) => found.includes(n)); i++) {
      await new Promise((r) => setTimeout(r, 20));
      found = await indexes(db);
    }
    expect(found).toEqual(expect.arrayContaining(queryIndexes));
  });
});

/** Appends the next `count` events of campaign c1's history (its launch first); resolves to the global position of the last. */
function campaignAppender(store: EventStore): (count: number) => Promise<number> {
  const workflow = loadWorkflowsDir().find((w) => w.id === 'three-searches')!;
  const history = campaignHistory({ campaignId: 'c1', workflow, units: 5, stages: 0, lastStageShare: 1 }, new Date(at(0)));
  let revision = -1;
  return async (count) => {
    const events = history.slice(revision + 1, revision + 1 + count).map((e, i) => ({ id: `e-${revision + 1 + i}`, type: e.type, data: e.data, metadata: { occurredAt: at(0), actor: { sub: 'office', role: 'bureau' } } }));
    const r = await store.appendToStream('campaign-c1', events, { expectedRevision: revision === -1 ? 'no_stream' : revision });
    revision = r.nextExpectedRevision;
    return r.position;
  };
}

/** A projector lingering a minute still answers a caller of waitFor at once. */
async function expectNoWaitForTheLinger(p: { projector: Projector; append: (count: number) => Promise<number>; close: () => Promise<void> }, count: number) {
  const position = await p.append(count);
  const started = Date.now();
  await p.projector.waitFor(position, 30_000);
  expect(p.projector.position).toBeGreaterThanOrEqual(position);
  expect(Date.now() - started).toBeLessThan(10_000);
  await p.close();
}

describe('the projector, live', () => {
  /** A projector on an in-memory store and read-model db, started, counting its read-model transactions. */
  async function live(lingerMs: number) {
    const store = new SqliteEventStore({ filename: ':memory:' });
    const db = new SqliteDb(':memory:');
    let transactions = 0;
    const transaction = db.transaction.bind(db);
    db.transaction = (work) => ((transactions += 1), transaction(work));
    const projector = new Projector(db, store);
    projector.lingerMs = lingerMs;
    await projector.onApplicationBootstrap();
    await projector.ready();
    const append = campaignAppender(store);
    const close = async () => {
      await projector.onModuleDestroy();
      await store.close();
    };
    return { projector, db, append, transactions: () => transactions, close };
  }

  it('projects the events that arrive within its linger in one transaction', async () => {
    const p = await live(300);
    const first = p.transactions();
    await p.append(1); // the launch
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setImmediate(r)); // each submission in a turn of its own
      await p.append(1);
    }
    await new Promise((r) => setTimeout(r, 600));
    expect(p.transactions() - first).toBe(1);
    const [row] = await p.db.all<{ revision: number }>('SELECT revision FROM rm_campaigns WHERE id = ?', ['c1']);
    expect(Number(row.revision)).toBe(4);
    await p.close();
  });

  it('does not make a caller of waitFor wait out the linger', async () => {
    await expectNoWaitForTheLinger(await live(60_000), 3);
  });
});

describe('the projector on a thread of its own', () => {
  let dir: string;
  /** The projector and store of the test, closed after it whatever its outcome (its thread would keep jest running). */
  let open: { close(): Promise<void> } | undefined;
  afterEach(async () => {
    await open?.close();
    open = undefined;
    removeDir(dir);
  });

  /** The service's side on files in a temporary data dir: its store and read-model connection, and a projector whose thread opens its own. */
  async function threaded(lingerMs = 10) {
    dir = mkdtempSync(join(tmpdir(), 'docket-projector-thread-'));
    const config = loadConfig({ DOCKET_DATA_DIR: dir, DOCKET_JWT_SECRET: 'x'.repeat(32) });
    const store = new SqliteEventStore({ filename: join(dir, 'docket.sqlite') });
    const db = new SqliteDb(join(dir, 'read-models.sqlite'));
    const projector = new Projector(db, store, undefined, storageConfig(config));
    projector.lingerMs = lingerMs;
    const changes: CampaignChange[] = [];
    projector.changes.subscribe((c) => changes.push(c));
    await projector.onApplicationBootstrap();
    await projector.ready();
    const append = campaignAppender(store);
    const row = async () => (await db.all<{ revision: number }>('SELECT revision FROM rm_campaigns WHERE id = ?', ['c1']))[0];
    const worker = () => (projector as unknown as { worker?: Worker }).worker;
    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        await projector.onModuleDestroy();
        await store.close();
      })());
    open = { close };
    return { projector, append, row, changes, worker, close };
  }

  it('projects what the service commits, and the service reads its writes through its own connection', async () => {
    const p = await threaded();
    expect(p.projector.threaded).toBe(true);
    expect(p.worker()).toBeDefined();
    const position = await p.append(3);
    await p.projector.waitFor(position, 30_000);
    expect(p.projector.position).toBeGreaterThanOrEqual(position);
    expect(Number((await p.row()).revision)).toBe(2);
    expect(p.changes.map((c) => c.revision)).toEqual([0, 1, 2]);
    expect(p.changes.every((c) => c.campaignId === 'c1')).toBe(true);
    await p.close();
  });

  it('does not make a caller of waitFor wait out the linger', async () => {
    await expectNoWaitForTheLinger(await threaded(60_000), 2);
  });

  it('starts its thread again when it dies, and carries on from the checkpoint', async () => {
    const p = await threaded();
    const first = await p.append(2);
    await p.projector.waitFor(first, 30_000);
    const dead = p.worker()!;
    await dead.terminate();
    const position = await p.append(2);
    await p.projector.waitFor(position, 30_000);
    expect(p.worker()).toBeDefined();
    expect(p.worker()).not.toBe(dead);
    expect(p.projector.position).toBeGreaterThanOrEqual(position);
    expect(Number((await p.row()).revision)).toBe(3);
    await p.close();
  });

  it('ends its thread when the service stops', async () => {
    const p = await threaded();
    const worker = p.worker()!;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    await p.close();
    await expect(exited).resolves.toBeDefined();
    expect(p.worker()).toBeUndefined();
  });
});
