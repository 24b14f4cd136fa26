import { readModelDialects } from '../../test/support/read-model-dialects';
import { startDocket, Docket, removeDir } from '../../test/support/docket-harness';
import { CampaignCommandExecutor } from '../campaigns/campaign-command.executor';
import { WorkflowRegistry } from '../workflows/workflow.registry';
import { EVENT_STORE, EventStore, RecordedEvent } from '../event-store/event-store.port';
import { seedCampaigns } from '../bench/seed';
import { CAMPAIGN_READ_MODEL_TABLES, DefinitionCache } from './campaign-read-model';
import { checkReadModels } from './consistency-check';
import { migrateReadModels, projectBatch } from './projection';
import { SqlDb } from './sql-db';


async function dump(db: SqlDb): Promise<string> {
  const out: Record<string, unknown[]> = {};
  for (const t of CAMPAIGN_READ_MODEL_TABLES) {
    const rows = await db.all<Record<string, unknown>>(`SELECT * FROM ${t}`);
    out[t] = rows.map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v])))).sort();
  }
  return JSON.stringify(out);
}

describe('campaign read models', () => {
  let docket: Docket;
  let store: EventStore;
  let events: RecordedEvent[];

  beforeAll(async () => {
    docket = await startDocket();
    store = docket.app.get(EVENT_STORE);
    await seedCampaigns(docket.app.get(CampaignCommandExecutor), docket.app.get(WorkflowRegistry), docket.clock, {
      prefix: 'rm',
      campaigns: 3,
      units: 6,
      stages: 3,
      lastStageShare: 0.5,
      returnEvery: 4,
    });
    events = await store.readAll({ maxCount: 100_000, streamPrefixes: ['campaign-'] });
    expect(events.length).toBeGreaterThan(100);
  });
  afterAll(async () => {
    await docket.close();
    removeDir(docket.dataDir);
  });

  const dialects = readModelDialects('rm_spec');

  describe.each(dialects)('on %s', (_name, make) => {
    let db: SqlDb;
    let drop: () => Promise<void>;
    beforeAll(async () => {
      ({ db, drop } = await make());
      await migrateReadModels(db);
    });
    afterAll(async () => {
      await db.close();
      await drop();
    });

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
      expect(report).toMatchObject({ ok: true, campaigns: 3 });
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
