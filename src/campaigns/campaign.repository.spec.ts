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
import { CampaignState, replay } from './domain/campaign-state';
import type { CampaignEvent } from './domain/campaign-events';
import { SNAPSHOT_FORMAT } from './domain/campaign-snapshot';
import { asCampaignEvent } from './campaign.repository';
import { definitionWeight, stateWeight, unitListWeight } from './state-weight';

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

describe('CampaignRepository cache bounds', () => {
  const MiB = 1024 * 1024;
  /** A 120-unit campaign four stages in (about 120 KiB estimated), under another id. */
  const big = campaignHistory({ campaignId: 'template', workflow: def, units: 120, stages: 3, lastStageShare: 0.5 }, ctx.now);
  const as = (id: string, events: CampaignEvent[]) => [{ ...events[0], data: { ...events[0].data, campaignId: id, title: `大讨论 ${id}` } } as CampaignEvent, ...events.slice(1)];
  const ids = Array.from({ length: 12 }, (_, i) => `c${String(i + 1).padStart(2, '0')}`);
  let store: SqliteEventStore;
  let reads: string[];
  const repo = (bounds: { cacheMb?: number; cacheCampaigns?: number }) => new CampaignRepository(store, { ...config, ...bounds });
  /** Whether a command on the campaign finds its state cached (a hit makes it the most recently used; a miss loads and caches it). */
  const cached = async (r: CampaignRepository, id: string) => !(await r.loadForCommand(id)).fresh;
  /** What the cache must weigh when it holds these states: their own weights, and each distinct shared part once. */
  const expected = (states: CampaignState[]) =>
    states.reduce((sum, s) => sum + stateWeight(s), 0) +
    [...new Set(states.map((s) => s.definition))].reduce((sum, d) => sum + definitionWeight(d), 0) +
    [...new Set(states.map((s) => s.units))].reduce((sum, u) => sum + unitListWeight(u), 0);

  beforeEach(async () => {
    store = new SqliteEventStore({ filename: ':memory:' });
    const writer = repo({});
    for (const id of ids) await writer.append(id, null, as(id, big), ctx);
    reads = [];
    const readStream = store.readStream.bind(store);
    store.readStream = (id, o) => {
      reads.push(id);
      return readStream(id, o);
    };
  });
  afterEach(() => store.close());

  it('drops the least recently used states while their estimated weight exceeds DOCKET_CACHE_MB', async () => {
    const r = repo({ cacheMb: 1 });
    const loaded: CampaignState[] = [];
    for (const id of ids.slice(0, 5)) loaded.push((await r.load(id))!);
    const each = stateWeight(loaded[0]);
    const shared = expected(loaded.slice(0, 1)) - each;
    const fit = Math.floor((MiB - shared) / each);
    expect(fit).toBeGreaterThanOrEqual(5);
    expect(fit).toBeLessThan(ids.length - 2);
    await r.load('c01'); // now the most recently used
    for (const id of ids.slice(5)) await r.load(id);
    expect(r.cacheStats().states).toBe(fit);
    expect(r.cacheStats().bytes).toBeLessThanOrEqual(MiB);
    // Kept: c01 (touched) and the most recent; dropped: c02, c03, … in the order they were used.
    const kept = ['c01', ...ids.slice(ids.length - fit + 1)];
    for (const id of kept) expect([id, await cached(r, id)]).toEqual([id, true]);
    expect(await cached(r, 'c02')).toBe(false);
  });

  it('also keeps at most DOCKET_CACHE_CAMPAIGNS states, whatever they weigh', async () => {
    const r = repo({ cacheCampaigns: 3, cacheMb: 64 });
    for (const id of ids.slice(0, 5)) await r.load(id);
    expect(r.cacheStats().states).toBe(3);
    expect(await cached(r, 'c05')).toBe(true);
    expect(await cached(r, 'c02')).toBe(false);
  });

  it('counts a command that finds its state cached as a use, even when it appends nothing', async () => {
    const r = repo({ cacheCampaigns: 3, cacheMb: 64 });
    for (const id of ids.slice(0, 3)) await r.load(id);
    expect(await cached(r, 'c01')).toBe(true); // a command read c01 (and was refused, say): c02 is now the least recently used
    await r.load('c04');
    expect(await cached(r, 'c01')).toBe(true);
    expect(await cached(r, 'c02')).toBe(false);
  });

  it('keeps its estimate current through appends, catch-ups from another instance, forgets and evictions', async () => {
    const r = repo({ cacheMb: 64 });
    const [a, b] = [(await r.load('c01'))!, (await r.load('c02'))!];
    expect(r.cacheStats().bytes).toBe(expected([a, b]));
    // Appended here: a cached state folds the events in place, its weight grows by their increments.
    await r.append('c01', a, [{ type: 'StageAdvanced', data: { from: a.stage, to: 'looking-back', event: 'ADVANCE', reason: '长效机制已建立，转入回头看' } }], ctx);
    const lateStage = (unit: string): CampaignEvent => ({ type: 'DeliverableSubmitted', data: { stage: 'looking-back', unit, deliverable: 'look-back-report', title: `${unit} 回头看报告（第一稿）`, version: 1 } });
    await r.append('c01', a, ['unit-1', 'unit-2', 'unit-3'].map(lateStage), { ...ctx, idempotencyKey: 'key-reports-0001', requestHash: 'h'.repeat(43) });
    expect(r.cacheStats().bytes).toBe(expected([a, b]));
    // Appended by another instance: the next load folds them into the cached state.
    const other = repo({});
    await other.append('c02', await other.load('c02'), ['unit-1', 'unit-9'].map((u) => ({ type: 'DeliverableSubmitted', data: { stage: b.stage, unit: u, deliverable: 'consolidation-report', title: `${u} 巩固提高阶段工作报告（修改稿）`, version: 2 } }) as CampaignEvent), ctx);
    expect(await r.load('c02')).toBe(b);
    expect(b.revision).toBe(big.length + 1);
    expect(r.cacheStats().bytes).toBe(expected([a, b]));
    // The same units and definition in another campaign are weighed once.
    const c = (await r.load('c03'))!;
    expect(c.units).toBe(a.units);
    expect(r.cacheStats().bytes).toBe(expected([a, b, c]));
    r.forget('c02');
    expect(r.cacheStats()).toEqual({ states: 2, bytes: expected([a, c]) });
    r.forget('c01');
    r.forget('c03');
    expect(r.cacheStats()).toEqual({ states: 0, bytes: 0 });
  });

  it('serves a state that alone weighs more than DOCKET_CACHE_MB but does not keep it, and keeps the others', async () => {
    const r = repo({ cacheMb: 1 });
    for (const id of ids.slice(0, 3)) await r.load(id);
    const before = r.cacheStats();
    // 4,000 submissions with long titles: over 1 MiB estimated.
    const title = '“找问题、找差距、找目标”主题大讨论学习心得'.repeat(4);
    const huge = [
      as('huge', big.slice(0, 1)),
      Array.from({ length: 4000 }, (_, i): CampaignEvent => ({ type: 'DeliverableSubmitted', data: { stage: def.initial, unit: `unit-${(i % 120) + 1}`, deliverable: `d${Math.floor(i / 120)}`, title: `第${i + 1}份：${title}`, version: 1 } })),
    ].flat();
    await repo({}).append('huge', null, huge, ctx);
    const state = (await r.load('huge'))!;
    expect(state.revision).toBe(huge.length - 1);
    expect(stateWeight(state)).toBeGreaterThan(MiB);
    expect(r.cacheStats()).toEqual(before);
    reads = [];
    expect(await r.loadForCommand('huge')).toMatchObject({ fresh: true, state: { revision: huge.length - 1 } });
    expect(reads).toEqual(['campaign-huge']);
    for (const id of ids.slice(0, 3)) expect(await cached(r, id)).toBe(true);
    // A command appending to it is served too, and the state is still not kept.
    await r.append('huge', state, [{ type: 'CampaignCompleted', data: { stage: def.initial } }], ctx);
    expect(r.cacheStats()).toEqual(before);
  });
});

describe('CampaignRepository event ids', () => {
  it('gives campaign events sequential ids (version 8), in the order of the log, across campaigns', async () => {
    const store = new SqliteEventStore({ filename: ':memory:' });
    const repo = new CampaignRepository(store, config);
    await repo.append('a', null, history.slice(0, 3), ctx);
    await repo.append('b', null, history.slice(0, 2), ctx);
    const ids = (await store.readAll()).map((e) => e.id);
    expect(ids).toHaveLength(5);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    await store.close();
  });
});
