import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { loadConfig } from '../config/config';
import { ManualClock } from '../common/clock';
import type { EventStore } from '../event-store/event-store.port';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store';
import { PostgresEventStore } from '../event-store/postgres/postgres-event-store';
import { CampaignRepository } from '../campaigns/campaign.repository';
import { CampaignCommandExecutor } from '../campaigns/campaign-command.executor';
import { asCampaignEvent } from '../campaigns/campaign.repository';
import { SqlSnapshotStore } from '../campaigns/campaign-snapshots';
import { SqliteDb } from '../projections/sql-db';
import { replay } from '../campaigns/domain/campaign-state';
import { campaignStream } from '../campaigns/domain/campaign-events';
import { loadWorkflowsDir } from '../workflows/workflow-loader';
import type { WorkflowDefinition } from '../workflows/domain/workflow-definition';
import { Bench, BenchContext, Figure, now } from './bench-kit';
import { campaignHistory } from './seed';

const REPO = resolve(__dirname, '../..');
export const PG_URL = process.env.DOCKET_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const actor = { sub: 'bench', role: 'bureau' as const };

function threeSearches(): WorkflowDefinition {
  return loadWorkflowsDir(join(REPO, 'workflows')).find((w) => w.id === 'three-searches')!;
}

/** A row shaped like a stored DeliverableSubmitted event (about 300 bytes of JSON), for the raw floors. */
function sampleRow(i: number) {
  const data = JSON.stringify({ stage: 'learning', unit: `unit-${i % 120}`, deliverable: 'problem-list', title: `单位${i % 120}查找问题清单`, version: 1 + Math.floor(i / 120) });
  const metadata = JSON.stringify({ actor, occurredAt: new Date(1378000000000 + i * 1000).toISOString(), correlationId: randomUUID(), prevHash: randomBytes(32).toString('hex'), hash: randomBytes(32).toString('hex') });
  return { id: randomUUID(), data, metadata };
}

interface StoreUnderTest {
  label: string;
  store: EventStore;
  /** Raw single-row durable inserts (autocommit), rows/s. */
  rawSingle(n: number): Promise<number>;
  /** Raw batch inserts, rows/s. */
  rawBatch(batches: number, size: number): Promise<number>;
  close(): Promise<void>;
}

async function sqliteUnderTest(sync: 'FULL' | 'NORMAL'): Promise<StoreUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), 'docket-bench-store-'));
  const store = new SqliteEventStore({ filename: join(dir, 'docket.sqlite'), synchronous: sync });
  const raw = new Database(join(dir, 'raw.sqlite'));
  raw.pragma('journal_mode = WAL');
  raw.pragma(`synchronous = ${sync}`);
  raw.exec('CREATE TABLE e (position INTEGER PRIMARY KEY AUTOINCREMENT, stream_id TEXT, revision INTEGER, id TEXT UNIQUE, type TEXT, data TEXT, metadata TEXT, recorded_at TEXT, UNIQUE (stream_id, revision))');
  const insert = raw.prepare('INSERT INTO e (stream_id, revision, id, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
  let rev = 0;
  const row = () => {
    const r = sampleRow(rev);
    insert.run('raw', rev++, r.id, 'DeliverableSubmitted', r.data, r.metadata, new Date().toISOString());
  };
  return {
    label: `SQLite (synchronous=${sync})`,
    store,
    async rawSingle(n) {
      const t = now();
      for (let i = 0; i < n; i++) row();
      return n / ((now() - t) / 1000);
    },
    async rawBatch(batches, size) {
      const tx = raw.transaction(() => {
        for (let i = 0; i < size; i++) row();
      });
      const t = now();
      for (let b = 0; b < batches; b++) tx();
      return (batches * size) / ((now() - t) / 1000);
    },
    async close() {
      raw.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresUnderTest(): Promise<StoreUnderTest> {
  const schema = `docket_bench_${randomBytes(4).toString('hex')}`;
  const store = await PostgresEventStore.create({ connectionString: PG_URL, schema });
  const raw = new Client({ connectionString: PG_URL });
  await raw.connect();
  await raw.query(`CREATE TABLE "${schema}".raw_e (position BIGSERIAL PRIMARY KEY, stream_id TEXT, revision BIGINT, id UUID UNIQUE, type TEXT, data JSON, metadata JSON, recorded_at TIMESTAMPTZ DEFAULT now(), UNIQUE (stream_id, revision))`);
  let rev = 0;
  return {
    label: 'PostgreSQL',
    store,
    async rawSingle(n) {
      const t = now();
      for (let i = 0; i < n; i++) {
        const r = sampleRow(rev);
        await raw.query({ name: 'raw-insert', text: `INSERT INTO "${schema}".raw_e (stream_id, revision, id, type, data, metadata) VALUES ($1, $2, $3, $4, $5, $6)`, values: ['raw', rev++, r.id, 'DeliverableSubmitted', r.data, r.metadata] });
      }
      return n / ((now() - t) / 1000);
    },
    async rawBatch(batches, size) {
      const t = now();
      for (let b = 0; b < batches; b++) {
        const rows = Array.from({ length: size }, () => ({ ...sampleRow(rev), rev: rev++ }));
        await raw.query(
          `INSERT INTO "${schema}".raw_e (stream_id, revision, id, type, data, metadata)
           SELECT 'raw', * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::json[], $5::json[])`,
          [rows.map((r) => r.rev), rows.map((r) => r.id), rows.map(() => 'DeliverableSubmitted'), rows.map((r) => r.data), rows.map((r) => r.metadata)],
        );
      }
      return (batches * size) / ((now() - t) / 1000);
    },
    async close() {
      await raw.query(`DROP SCHEMA "${schema}" CASCADE`);
      await raw.end();
      await store.close();
    },
  };
}

/** Durable single-event commands through the whole command path, and batches through the repository. */
async function appendFigures(ctx: BenchContext, sut: StoreUnderTest, def: WorkflowDefinition): Promise<Figure[]> {
  const config = loadConfig({ DOCKET_DATA_DIR: tmpdir(), DOCKET_JWT_SECRET: 'x'.repeat(40) }, REPO);
  const clock = new ManualClock('2013-09-01T00:00:00Z');
  const repo = new CampaignRepository(sut.store, config);
  const executor = new CampaignCommandExecutor(repo, clock);
  const units = Array.from({ length: 120 }, (_, i) => ({ id: `unit-${i}`, name: `单位${i}` }));
  await executor.execute('append-bench', { type: 'LaunchCampaign', data: { campaignId: 'append-bench', title: 'bench', workflow: def, units } }, { actor, correlationId: 'bench' });
  const n = ctx.quick ? 1500 : sut.label.startsWith('PostgreSQL') ? 4000 : 8000;
  const submit = (i: number) =>
    executor.execute('append-bench', { type: 'SubmitDeliverable', data: { unit: `unit-${i % 120}`, deliverable: 'problem-list', title: `单位${i % 120}查找问题清单` } }, { actor, correlationId: 'bench' });
  for (let i = 0; i < 200; i++) await submit(i);
  // In alternating rounds (commands, floor; floor, commands; …), so that a change of the machine's
  // pace (fsync times swing with it) falls on both sides of the ratio alike.
  const rounds = 4;
  const per = Math.ceil(n / rounds);
  let commandMs = 0;
  let floorMs = 0;
  let next = 200;
  const commands = async () => {
    const t = now();
    for (let i = 0; i < per; i++) await submit(next++);
    commandMs += now() - t;
  };
  const floor = async () => {
    floorMs += (per / (await sut.rawSingle(per))) * 1000;
  };
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      await commands();
      await floor();
    } else {
      await floor();
      await commands();
    }
  }
  const commandRate = (per * rounds) / (commandMs / 1000);
  const floorSingle = (per * rounds) / (floorMs / 1000);
  let t: number;

  const batches = ctx.quick ? 20 : 60;
  const size = 1000;
  let head = await repo.load('append-bench');
  t = now();
  for (let b = 0; b < batches; b++) {
    const events = Array.from({ length: size }, (_, i) => ({
      type: 'DeliverableSubmitted' as const,
      data: { stage: 'learning', unit: `unit-${i % 120}`, deliverable: 'problem-list', title: `单位${i % 120}查找问题清单`, version: 1 },
    }));
    await repo.append('append-bench', head, events, { actor, now: clock.now(), correlationId: 'bench' });
    head = await repo.load('append-bench');
  }
  const batchRate = (batches * size) / ((now() - t) / 1000);
  const floorBatch = await sut.rawBatch(batches, size);
  ctx.log(`${sut.label}: ${Math.round(commandRate)} commands/s vs raw ${Math.round(floorSingle)} rows/s; batches ${Math.round(batchRate)} vs ${Math.round(floorBatch)} events/s`);
  return [
    {
      bench: 'append',
      name: `${sut.label}: single-event durable commands (decide, hash, append)`,
      value: commandRate,
      unit: 'events/s',
      floor: { name: 'raw single-row inserts, same rows', value: floorSingle },
      ratio: commandRate / floorSingle,
      target: { text: 'within 2× of the floor (ratio ≥ 0.5)', met: commandRate / floorSingle >= 0.5 },
    },
    {
      bench: 'append',
      name: `${sut.label}: batches of ${size} events (hash, append)`,
      value: batchRate,
      unit: 'events/s',
      floor: { name: `raw ${sut.label.startsWith('PostgreSQL') ? 'unnest' : 'transaction'} batches of ${size}`, value: floorBatch },
      ratio: batchRate / floorBatch,
    },
  ];
}

/** Folding a realistic campaign history (120 units × 4 deliverables with reviews, stage changes) from the store. */
async function replayFigures(ctx: BenchContext, def: WorkflowDefinition): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'docket-bench-replay-'));
  const store = new SqliteEventStore({ filename: join(dir, 'docket.sqlite'), synchronous: 'NORMAL' });
  const config = loadConfig({ DOCKET_DATA_DIR: dir, DOCKET_JWT_SECRET: 'x'.repeat(40) }, REPO);
  const repo = new CampaignRepository(store, config);
  const campaigns = ctx.quick ? 10 : 40;
  let events = 0;
  for (let c = 0; c < campaigns; c++) {
    const history = campaignHistory({ campaignId: `r-${c}`, workflow: def, units: 120, stages: 4, lastStageShare: 1, returnEvery: 7 }, new Date('2013-09-01T00:00:00Z'));
    await repo.append(`r-${c}`, null, history, { actor, now: new Date('2013-09-01T00:00:00Z'), correlationId: 'bench' });
    events += history.length;
  }
  const rounds = ctx.quick ? 3 : 5;
  // Floor: the same rows read and JSON-parsed, nothing else.
  const raw = store.db.prepare('SELECT * FROM events WHERE stream_id = ? ORDER BY revision');
  let t = now();
  for (let r = 0; r < rounds; r++) {
    for (let c = 0; c < campaigns; c++) {
      for (const row of raw.all(campaignStream(`r-${c}`)) as { data: string; metadata: string }[]) {
        JSON.parse(row.data);
        JSON.parse(row.metadata);
      }
    }
  }
  const floor = (events * rounds) / ((now() - t) / 1000);
  t = now();
  let last = 0;
  for (let r = 0; r < rounds; r++) {
    for (let c = 0; c < campaigns; c++) {
      const state = replay((await store.readStream(campaignStream(`r-${c}`))).map(asCampaignEvent));
      last = state!.revision;
    }
  }
  const rate = (events * rounds) / ((now() - t) / 1000);

  // As the service loads a campaign it has not cached: from its persisted snapshot (written by
  // an earlier load), checked against the log, plus the events after it (none here).
  const snapshotDb = new SqliteDb(join(dir, 'read-models.sqlite'), 'NORMAL');
  const snapshots = new SqlSnapshotStore(snapshotDb);
  const first = new CampaignRepository(store, config, snapshots);
  for (let c = 0; c < campaigns; c++) await first.load(`r-${c}`);
  await first.snapshotsWritten();
  // One untimed round first, as the other benches warm up: the restore path's code is not yet compiled.
  const warm = new CampaignRepository(store, config, snapshots);
  for (let c = 0; c < campaigns; c++) await warm.load(`r-${c}`);
  t = now();
  for (let r = 0; r < rounds; r++) {
    const cold = new CampaignRepository(store, config, snapshots); // an empty cache: a restarted process
    for (let c = 0; c < campaigns; c++) last = (await cold.load(`r-${c}`))!.revision;
  }
  const snapshotRate = (events * rounds) / ((now() - t) / 1000);
  const [{ size }] = snapshotDb.db.prepare('SELECT AVG(LENGTH(state)) AS size FROM campaign_snapshots').all() as { size: number }[];
  await snapshotDb.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  ctx.log(`replayed ${campaigns} campaigns of ${last + 1} events; snapshots of ${Math.round(size / 1024)} KiB`);
  const what = `${last + 1} events each: launch, 120 units × 4 stages of deliverables, reviews, stage changes`;
  return [
    {
      bench: 'replay',
      name: `rehydrate campaigns from SQLite by folding every event (${what})`,
      value: rate,
      unit: 'events/s',
      floor: { name: 'reading the same rows and JSON.parse alone', value: floor },
      ratio: rate / floor,
    },
    {
      bench: 'replay',
      name: `rehydrate the same campaigns in a restarted process (empty cache): persisted snapshot (${Math.round(size / 1024)} KiB of JSON) checked against the log by the hash of its event, then the events after it; events covered per second`,
      value: snapshotRate,
      unit: 'events/s',
      floor: { name: 'reading the same rows and JSON.parse alone', value: floor },
      ratio: snapshotRate / floor,
      target: { text: '≥ 500,000 events/s', met: snapshotRate >= 500_000 },
    },
  ];
}

export const storeBench: Bench = {
  name: 'append and replay',
  async run(ctx) {
    const def = threeSearches();
    const figures: Figure[] = [];
    for (const make of [() => sqliteUnderTest('FULL'), () => sqliteUnderTest('NORMAL'), () => postgresUnderTest()]) {
      const sut = await make();
      try {
        figures.push(...(await appendFigures(ctx, sut, def)));
      } finally {
        await sut.close();
      }
    }
    figures.push(...(await replayFigures(ctx, def)));
    return figures;
  },
};
