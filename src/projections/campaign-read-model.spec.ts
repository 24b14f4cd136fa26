import { migratedReadModelDb, readModelDialects } from '../../test/support/read-model-dialects';
import { startDocket, Docket, removeDir } from '../../test/support/docket-harness';
import { CampaignCommandExecutor } from '../campaigns/campaign-command.executor';
import { WorkflowRegistry } from '../workflows/workflow.registry';
import { EVENT_STORE, EventStore, RecordedEvent } from '../event-store/event-store.port';
import { seedCampaigns } from '../bench/seed';
import { CAMPAIGN_READ_MODEL_TABLES, DefinitionCache } from './campaign-read-model';
import { checkReadModels } from './consistency-check';
import { migrateReadModels, projectBatch } from './projection';
import { PostgresDb, SqlDb } from './sql-db';
import { PG_URL } from '../../test/support/read-model-dialects';


async function dump(db: SqlDb): Promise<string> {
  const out: Record<string, unknown[]> = {};
  for (const t of CAMPAIGN_READ_MODEL_TABLES) {
    const rows = await db.all<Record<string, unknown>>(`SELECT * FROM ${t}`);
    out[t] = rows.map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v])))).sort();
  }
  return JSON.stringify(out);
}

/** Empty campaign read models, as a rebuild starts from. */
async function reset(db: SqlDb): Promise<void> {
  for (const t of CAMPAIGN_READ_MODEL_TABLES) await db.run(`DROP TABLE IF EXISTS ${t}`);
  await migrateReadModels(db);
}

function inBatchesOf<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function projectAll(db: SqlDb, batches: RecordedEvent[][]): Promise<void> {
  const defs = new DefinitionCache();
  for (const b of batches) await projectBatch(db, defs, b);
}

describe('campaign read models', () => {
  let docket: Docket;
  let store: EventStore;
  let events: RecordedEvent[];

  beforeAll(async () => {
    docket = await startDocket();
    store = docket.app.get(EVENT_STORE);
    const executor = docket.app.get(CampaignCommandExecutor);
    const workflows = docket.app.get(WorkflowRegistry);
    await seedCampaigns(executor, workflows, docket.clock, {
      prefix: 'rm',
      campaigns: 3,
      units: 6,
      stages: 3,
      lastStageShare: 0.5,
      returnEvery: 4,
    });
    // Deadlines moved (of the current stage, and of one to come), and a campaign run to its end.
    const options = { actor: { sub: 'bureau-office', role: 'bureau' as const }, correlationId: 'spec' };
    await executor.execute('rm-1', { type: 'ChangeDeadline', data: { stage: 'long-term-mechanism', deadline: '2014-03-01T00:00:00Z', reason: 'spec' } }, options);
    await executor.execute('rm-2', { type: 'ChangeDeadline', data: { stage: 'looking-back', deadline: '2014-06-01T00:00:00Z', reason: 'spec' } }, options);
    await seedCampaigns(executor, workflows, docket.clock, { prefix: 'rm-end', campaigns: 1, units: 2, stages: 10 });
    events = await store.readAll({ maxCount: 100_000, streamPrefixes: ['campaign-'] });
    expect(events.length).toBeGreaterThan(100);
    expect(new Set(events.map((e) => e.type))).toEqual(
      new Set(['CampaignLaunched', 'DeliverableSubmitted', 'DeliverableReviewed', 'StageAdvanced', 'DeadlineChanged', 'CampaignCompleted']),
    );
  });
  afterAll(async () => {
    await docket.close();
    removeDir(docket.dataDir);
  });

  const dialects = readModelDialects('rm_spec');

  describe.each(dialects)('on %s', (name, make) => {
    // One SQLite writer per file (and :memory: is per connection): instances share PostgreSQL read models only.
    const onPostgres = name === 'PostgreSQL' ? it : it.skip;
    let db: SqlDb;
    migratedReadModelDb(make, (opened) => (db = opened));

    it('is unchanged when every event is delivered a second time', async () => {
      const defs = new DefinitionCache();
      for (const e of events) {
        await projectBatch(db, defs, [e]);
        const once = await dump(db);
        await projectBatch(db, defs, [e]);
        expect(await dump(db)).toBe(once);
      }
    });

    it('equals the pure replay of the log, row by row', async () => {
      const report = await checkReadModels(store, db);
      expect(report.differences).toEqual([]);
      expect(report).toMatchObject({ ok: true, campaigns: 4 });
    });

    it('ends with the same rows however the log is cut into batches, and with every event twice in one batch', async () => {
      await reset(db);
      await projectAll(db, events.map((e) => [e]));
      const oneByOne = await dump(db);
      for (const batches of [[events], inBatchesOf(events, 7), inBatchesOf(events, 100), [events.flatMap((e) => [e, e])]]) {
        await reset(db);
        await projectAll(db, batches);
        expect(await dump(db)).toBe(oneByOne);
        expect((await checkReadModels(store, db)).differences).toEqual([]);
      }
    });

    it('reports one change per event it applied, in log order, and none for an event met again', async () => {
      await reset(db);
      const defs = new DefinitionCache();
      const first = await projectBatch(db, defs, events.slice(0, 60));
      expect(first.map((c) => c.position)).toEqual(events.slice(0, 60).map((e) => e.position));
      expect(first[0]).toEqual({ campaignId: events[0].streamId.slice('campaign-'.length), revision: events[0].revision, position: events[0].position, type: events[0].type });
      const again = await projectBatch(db, defs, events.slice(30, 90));
      expect(again.map((c) => c.position)).toEqual(events.slice(60, 90).map((e) => e.position));
      await projectAll(db, [events.slice(90)]);
    });

    onPostgres('stays equal to the replay when another instance commits an older batch of the same campaign meanwhile', async () => {
      // Instance B folds events 10–19 of a campaign and is held before it writes; meanwhile
      // instance A projects events 10–29. Were A not made to wait for B, B would then write
      // its rows as of event 19 over A's, and A's next batch would build on them.
      await reset(db);
      await projectAll(db, [events.slice(0, 10)]);
      expect(new Set(events.slice(0, 30).map((e) => e.streamId)).size).toBe(1);
      const other = new PostgresDb(PG_URL, (db as PostgresDb).schema);
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const heldBeforeWriting: SqlDb = {
        dialect: 'postgres',
        run: (q, p) => other.run(q, p),
        all: (q, p) => other.all(q, p),
        insertRows: (t, c, r, tail) => other.insertRows(t, c, r, tail),
        close: () => other.close(),
        transaction: (work) =>
          other.transaction((tx) =>
            work({ ...tx, dialect: 'postgres', run: (q, p) => tx.run(q, p), all: (q, p) => tx.all(q, p), insertRows: async (t, c, r, tail) => (await held, tx.insertRows(t, c, r, tail)) } as SqlDb),
          ),
      };
      try {
        const b = projectBatch(heldBeforeWriting, new DefinitionCache(), events.slice(10, 20));
        await new Promise((r) => setTimeout(r, 100));
        const a = projectBatch(db, new DefinitionCache(), events.slice(10, 30));
        await new Promise((r) => setTimeout(r, 300));
        release();
        await Promise.all([a, b]);
      } finally {
        await other.close();
      }
      await projectAll(db, [events.slice(30)]);
      expect((await checkReadModels(store, db)).differences).toEqual([]);
    });

    it('names a difference when a read-model row disagrees with the log', async () => {
      await db.run(`UPDATE rm_deliverables SET status = 'approved' WHERE campaign_id = 'rm-2' AND status = 'missing' AND unit_id = 'unit-6'`);
      await db.run(`UPDATE rm_campaigns SET stage = 'learning' WHERE id = 'rm-3'`);
      const report = await checkReadModels(store, db);
      expect(report.ok).toBe(false);
      expect(report.differences).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ campaign: 'rm-3', table: 'rm_campaigns', field: 'stage', actual: 'learning' }),
          expect.objectContaining({ campaign: 'rm-2', table: 'rm_deliverables', expected: 'missing', actual: 'approved' }),
        ]),
      );
    });
  });
});
