import { resolve } from 'node:path';
import { readModelDialects } from '../../test/support/read-model-dialects';
import { campaignHistory } from '../bench/seed';
import { loadConfig } from '../config/config';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store';
import type { SqlDb } from '../projections/sql-db';
import { loadWorkflowsDir } from '../workflows/workflow-loader';
import { CampaignRepository, SNAPSHOT_AFTER_EVENTS } from './campaign.repository';
import { SqlSnapshotStore } from './campaign-snapshots';
import { campaignStream } from './domain/campaign-events';
import { replay } from './domain/campaign-state';
import { SNAPSHOT_FORMAT } from './domain/campaign-snapshot';
import { asCampaignEvent } from './campaign.repository';

const REPO = resolve(__dirname, '../..');
const config = loadConfig({ DOCKET_DATA_DIR: '/tmp', DOCKET_JWT_SECRET: 'x'.repeat(40) }, REPO);
const def = loadWorkflowsDir(config.workflowsDir).find((w) => w.id === 'three-searches')!;
const ctx = { actor: { sub: 'bureau-1', role: 'bureau' as const }, now: new Date('2024-03-01T00:00:00Z'), correlationId: 'x' };
const history = campaignHistory({ campaignId: 'c1', workflow: def, units: 40, stages: 2, lastStageShare: 0.5, returnEvery: 5 }, ctx.now);
/** The log holds all but the last event at first. */
const first = history.slice(0, -1);

describe.each(readModelDialects('snap_spec'))('CampaignRepository with snapshots in %s', (_name, make) => {
  let db: SqlDb;
  let drop: () => Promise<void>;
  let store: SqliteEventStore;
  let reads: { fromRevision?: number; maxCount?: number }[];
  const fullFold = async () => replay((await store.readStream(campaignStream('c1'))).map(asCampaignEvent));
  /** A new process: an empty cache, the same log and snapshots. */
  const restart = () => new CampaignRepository(store, config, new SqlSnapshotStore(db));
  /** Loads c1 in a new process and waits for the snapshot it leaves. */
  const loadAndSnapshot = async () => {
    const repo = restart();
    const state = await repo.load('c1');
    await repo.snapshotsWritten();
    return state;
  };

  beforeEach(async () => {
    ({ db, drop } = await make());
    store = new SqliteEventStore({ filename: ':memory:' });
    await restart().append('c1', null, first, ctx);
    reads = [];
    const readStream = store.readStream.bind(store);
    store.readStream = (id, o) => {
      reads.push({ fromRevision: o?.fromRevision, maxCount: o?.maxCount });
      return readStream(id, o);
    };
  });
  afterEach(async () => {
    await store.close();
    await db.close();
    await drop();
  });

  it(`leaves a snapshot after folding ${SNAPSHOT_AFTER_EVENTS} or more events, and the next process folds only what came after it`, async () => {
    expect(first.length).toBeGreaterThan(SNAPSHOT_AFTER_EVENTS);
    await loadAndSnapshot();
    const writer = restart();
    await writer.append('c1', await writer.load('c1'), history.slice(-1), ctx);
    reads = [];
    const state = await restart().load('c1');
    expect(reads).toEqual([{ fromRevision: first.length - 1, maxCount: 1 }, { fromRevision: first.length, maxCount: undefined }]);
    expect(state).toEqual(await fullFold());
  });

  it('folds the whole log when the event a snapshot was taken at is no longer there as it was', async () => {
    await loadAndSnapshot();
    await db.run('UPDATE campaign_snapshots SET last_hash = ?', ['0'.repeat(64)]);
    reads = [];
    const state = await restart().load('c1');
    expect(reads.at(-1)).toEqual({ fromRevision: 0, maxCount: undefined });
    expect(state).toEqual(await fullFold());
  });

  it('folds the whole log when a snapshot is ahead of it (a log restored from an older backup)', async () => {
    await loadAndSnapshot();
    await db.run('UPDATE campaign_snapshots SET revision = revision + 5');
    expect(await restart().load('c1')).toEqual(await fullFold());
  });

  it('ignores a snapshot of another format and replaces it', async () => {
    await loadAndSnapshot();
    await db.run('UPDATE campaign_snapshots SET format = ?', [SNAPSHOT_FORMAT + 1]);
    expect(await loadAndSnapshot()).toEqual(await fullFold());
    expect(await db.all('SELECT format FROM campaign_snapshots')).toEqual([{ format: SNAPSHOT_FORMAT }]);
  });

  it('still loads when the snapshot table cannot be read', async () => {
    await loadAndSnapshot();
    await db.run('DROP TABLE campaign_snapshots');
    const repo = new CampaignRepository(store, config, { get: () => Promise.reject(new Error('gone')), put: () => Promise.reject(new Error('gone')) });
    expect(await repo.load('c1')).toEqual(await fullFold());
  });
});
