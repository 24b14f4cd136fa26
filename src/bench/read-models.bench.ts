import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../app.factory';
import { loadConfig, storageConfig } from '../config/config';
import { ManualClock } from '../common/clock';
import { JwtCodec } from '../auth/jwt';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store';
import { CampaignRepository } from '../campaigns/campaign.repository';
import { Client } from 'pg';
import { Projector } from '../projections/projector';
import { createQueryIndexes, PROJECTED_STREAMS } from '../projections/projection';
import { rebuildReadModels } from '../projections/rebuild';
import { PostgresDb, SqliteDb } from '../projections/sql-db';
import { createReadModelDb } from '../projections/read-model-db.factory';
import { PG_URL } from './store.bench';
import { loadWorkflowsDir } from '../workflows/workflow-loader';
import { Bench, BenchContext, Figure, now, percentile, timings } from './bench-kit';
import { campaignHistory } from './seed';

const REPO = resolve(__dirname, '../..');

const CATCH_UP_TARGET = 50_000;

/** Reads every event the read models are folded from, in pages: what any projection pays before it writes a row. */
async function readAlone(store: SqliteEventStore): Promise<number> {
  const t = now();
  let position = 0;
  let n = 0;
  for (;;) {
    const page = await store.readAll({ afterPosition: position, maxCount: 1000, streamPrefixes: PROJECTED_STREAMS });
    if (page.length === 0) break;
    position = page[page.length - 1].position;
    n += page.length;
  }
  return n / ((now() - t) / 1000);
}

/** `docket projections rebuild` into PostgreSQL read models (a throwaway schema); undefined when PostgreSQL is not there. */
async function rebuildIntoPostgres(store: SqliteEventStore, log: (m: string) => void): Promise<number | undefined> {
  const schema = `docket_bench_rm_${randomBytes(4).toString('hex')}`;
  const db = new PostgresDb(PG_URL, schema);
  try {
    const t = now();
    const { events } = await rebuildReadModels(store, db);
    return events / ((now() - t) / 1000);
  } catch (e) {
    log(`PostgreSQL read models skipped: ${(e as Error).message}`);
    return undefined;
  } finally {
    await db.close();
    const c = new Client({ connectionString: PG_URL });
    await c
      .connect()
      .then(() => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`))
      .catch(() => undefined)
      .finally(() => c.end().catch(() => undefined));
  }
}

/** Issue 4's figure: the overdue list of a district with thousands of campaigns, from the read models. */
export const readModelsBench: Bench = {
  name: 'read models',
  async run(ctx: BenchContext): Promise<Figure[]> {
    const campaigns = ctx.quick ? 400 : 2000;
    const units = 120;
    const dir = mkdtempSync(join(tmpdir(), 'docket-bench-rm-'));
    const secret = 'bench-secret-bench-secret-bench-secret!';
    const config = loadConfig({ DOCKET_DATA_DIR: dir, DOCKET_JWT_SECRET: secret, DOCKET_LOG_LEVEL: 'error', DOCKET_SQLITE_SYNCHRONOUS: 'NORMAL' }, REPO);
    const store = new SqliteEventStore({ filename: join(dir, 'docket.sqlite'), synchronous: 'NORMAL' });
    const repo = new CampaignRepository(store, config);
    const def = loadWorkflowsDir(config.workflowsDir).find((w) => w.id === 'three-searches')!;
    const clock = new ManualClock('2013-09-01T00:00:00Z');
    let events = 0;
    const seedStart = now();
    for (let c = 0; c < campaigns; c++) {
      // Launches spread over a year: the early ones are past their deadlines.
      const at = new Date(Date.parse('2013-01-01T00:00:00Z') + c * (365 * 86400_000) / campaigns);
      const history = campaignHistory({ campaignId: `c-${c + 1}`, workflow: def, units, stages: c % 3 === 0 ? 1 : 0, lastStageShare: (c % 10) / 10 }, at);
      await repo.append(`c-${c + 1}`, null, history, { actor: { sub: 'bench', role: 'bureau' }, now: at, correlationId: 'bench' });
      repo.forget(`c-${c + 1}`);
      events += history.length;
    }
    ctx.log(`seeded ${campaigns} campaigns × ${units} units: ${events} events in ${((now() - seedStart) / 1000).toFixed(1)} s`);

    clock.set('2014-01-01T00:00:00Z');
    // The service's Projector (catch-up subscription, batches, SQLite read models) on its own thread,
    // timed from its start to caught up with its query indexes built (it builds them on reaching
    // the head; createQueryIndexes makes sure); the service then starts on the read models it left.
    const head = store.db.prepare('SELECT MAX(position) AS p FROM events').get() as { p: number };
    const catchUpDb = createReadModelDb(config);
    // On a thread of its own, as the service runs it (DOCKET_PROJECTION_THREAD): the thread opens the store and the read models the config names.
    const catchUpProjector = new Projector(catchUpDb, store, undefined, storageConfig(config));
    const projectStart = now();
    await catchUpProjector.onApplicationBootstrap();
    while (catchUpProjector.position < head.p) await new Promise((r) => setTimeout(r, 5));
    await catchUpProjector.onModuleDestroy();
    const indexed = createReadModelDb(config);
    await createQueryIndexes(indexed);
    await indexed.close();
    const projectMs = now() - projectStart;
    const catchUp = events / (projectMs / 1000);
    ctx.log(`projected ${events} events in ${(projectMs / 1000).toFixed(1)} s`);
    const app: NestFastifyApplication = await createApp({ config, clock, store });
    const projector = app.get(Projector);
    await projector.waitFor(head.p, 60_000);

    const token = new JwtCodec(secret).mint({ sub: 'bench', role: 'bureau' });
    const fastify = app.getHttpAdapter().getInstance();
    const get = async () => {
      const r = await fastify.inject({ method: 'GET', url: '/api/campaigns?overdue=true&limit=50', headers: { authorization: `Bearer ${token}` } });
      if (r.statusCode !== 200) throw new Error(`list answered ${r.statusCode}: ${r.body}`);
      return r;
    };
    const first = (await get()).json();
    await timings(20, get);
    const http = await timings(ctx.quick ? 100 : 300, get);
    // Floor: the same two SQL statements straight on the read-model database, no HTTP, auth or JSON.
    const db = projector.db;
    const nowIso = clock.now().toISOString();
    const sqlOnly = await timings(ctx.quick ? 100 : 300, async () => {
      await db.all("SELECT COUNT(*) AS n FROM rm_campaigns WHERE status = 'active' AND deadline IS NOT NULL AND deadline < ?", [nowIso]);
      await db.all("SELECT * FROM rm_campaigns WHERE status = 'active' AND deadline IS NOT NULL AND deadline < ? ORDER BY launched_at, id LIMIT 50 OFFSET 0", [nowIso]);
    });
    await app.close();

    // Issue 8: the same log projected again from zero, by `docket projections rebuild`, beside the cost of reading it alone.
    const readRate = await readAlone(store);
    const sqliteDb = new SqliteDb(join(dir, 'rebuild.sqlite'), 'NORMAL');
    const rebuildStart = now();
    await rebuildReadModels(store, sqliteDb);
    const sqliteRebuild = events / ((now() - rebuildStart) / 1000);
    await sqliteDb.close();
    const pgRebuild = await rebuildIntoPostgres(store, ctx.log);
    ctx.log(`rebuilt: SQLite ${Math.round(sqliteRebuild)} events/s, PostgreSQL ${pgRebuild ? Math.round(pgRebuild) : '-'} events/s; read alone ${Math.round(readRate)} events/s`);

    await store.close();
    rmSync(dir, { recursive: true, force: true });
    const median = percentile(http, 50);
    const floor = percentile(sqlOnly, 50);
    return [
      {
        bench: 'read models',
        name: `GET /api/campaigns?overdue=true&limit=50, median (${campaigns} campaigns × ${units} units, ${first.total} overdue)`,
        value: median,
        unit: 'ms',
        floor: { name: 'the same SQL on the read-model db', value: floor },
        ratio: floor / median,
        target: { text: '< 50 ms', met: median < 50 },
      },
      { bench: 'read models', name: 'same request, p99', value: percentile(http, 99), unit: 'ms' },
      {
        bench: 'read models',
        name: `projection catch-up from zero: the service's Projector folds ${events} events into empty SQLite read models (start to caught up, query indexes built)`,
        value: catchUp,
        unit: 'events/s',
        floor: { name: 'reading the same events from the store alone (readAll pages, JSON parse)', value: readRate },
        ratio: catchUp / readRate,
        target: { text: `≥ ${CATCH_UP_TARGET.toLocaleString('en-US')} events/s`, met: catchUp >= CATCH_UP_TARGET },
      },
      { bench: 'read models', name: 'docket projections rebuild of the same log, SQLite read models', value: sqliteRebuild, unit: 'events/s', floor: { name: 'reading the events alone', value: readRate }, ratio: sqliteRebuild / readRate },
      ...(pgRebuild === undefined
        ? []
        : [{ bench: 'read models', name: 'docket projections rebuild of the same log, PostgreSQL read models', value: pgRebuild, unit: 'events/s', floor: { name: 'reading the events alone', value: readRate }, ratio: pgRebuild / readRate }]),
    ];
  },
};
